"""The gateway's proxy to a real session's Jupyter: who passes, HTTP and WebSocket, path tricks,
large files, logout closing WebSockets, and Jupyter's port kept off the public interfaces."""
import base64
import hashlib
import http.client
import json
import os
import time
import urllib.parse

import pytest
import websocket

from conftest import docker, run_in_kernel, wait_for_state


def login(server, name, password):
    """Signs in like the web page does: returns (cookie header, CSRF token)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("POST", "/api/v1/auth/login", json.dumps({"username": name, "password": password}),
                       {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    cookie = response.getheader("Set-Cookie").split(";")[0]
    return cookie, json.loads(response.read())["csrf_token"]


def raw(server, method, path, headers=None, body=None):
    """One request with the path sent exactly as given."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.putrequest(method, path, skip_accept_encoding=True)
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    if body is not None:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    return response.status, response.read(), response


@pytest.fixture(scope="module")
def running(server, make_user):
    """A running session of a fresh user, with that user's name and API client."""
    name, api = make_user("proxy")
    status, session = api.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    session = wait_for_state(api, session["id"], {"running"})
    yield name, api, session
    api.call("DELETE", f"/api/v1/sessions/{session['id']}")
    wait_for_state(api, session["id"], {"ended"}, timeout=60)


def test_the_jupyter_link_is_the_gateways_and_the_port_is_on_loopback_only(server, running):
    _, _, session = running
    assert session["jupyter"]["url"] == f"{server.base}/s/{session['id']}/"
    assert "token" not in session["jupyter"]["url"]
    ports = json.loads(docker("inspect", "-f", "{{json .HostConfig.PortBindings}}",
                              "gpupool-" + session["id"]).stdout)
    assert ports["8888/tcp"][0]["HostIp"] == "127.0.0.1", ports


def test_owner_admin_other_and_anonymous_over_http_and_websocket(server, running, admin, make_user):
    _, owner, session = running
    path = f"/s/{session['id']}/api/kernels"
    _, other = make_user("other")
    bearer = lambda api: {"Authorization": "Bearer " + api.token}

    assert raw(server, "GET", path, bearer(owner))[0] == 200
    assert raw(server, "GET", path, bearer(admin))[0] == 200
    assert raw(server, "GET", path, bearer(other))[0] == 404
    assert raw(server, "GET", path)[0] == 404
    status, body, _ = raw(server, "GET", f"/s/{session['id']}")
    assert status == 404, "anonymous callers learn nothing, not even a redirect"

    ws_base = server.base.replace("http://", "ws://") + f"/s/{session['id']}/api/kernels/"
    status, body, _ = raw(server, "POST", path, {**bearer(owner), "Content-Type": "application/json"}, b"{}")
    kernel = json.loads(body)["id"]
    for caller in (other, None):
        headers = bearer(caller) if caller else {}
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(ws_base + kernel + "/channels", timeout=30,
                                        header=[f"{k}: {v}" for k, v in headers.items()])
        assert refused.value.status_code == 404
    # The owner and an admin run code in the kernel over the proxied WebSocket.
    assert run_in_kernel(session, "print(6 * 7)", owner) == "42\n"
    assert run_in_kernel(session, "print('admin')", admin) == "admin\n"


def test_path_tricks_are_refused(server, running):
    _, owner, session = running
    headers = {"Authorization": "Bearer " + owner.token}
    sid = session["id"]
    for path in [f"/s/{sid}/../{sid}/api", f"/s/{sid}/%2e%2e/api", f"/s/{sid}%2F..%2Fapi/",
                 f"/s/{sid}/%252e%252e/api", f"/s/{sid}//api", f"/s/{sid}/.%2E/api",
                 f"/s/{sid.upper()}/api", f"/s/{sid}/..\\api"]:
        status, _, _ = raw(server, "GET", path, headers)
        assert status == 400, path
    assert raw(server, "GET", f"/s/{sid}/api", headers)[0] == 200


def test_large_files_go_up_and_come_back_streamed(server, running):
    _, owner, session = running
    headers = {"Authorization": "Bearer " + owner.token, "Content-Type": "application/json"}
    payload = os.urandom(6 * 1024 * 1024)
    body = json.dumps({"type": "file", "format": "base64", "content": base64.b64encode(payload).decode()}).encode()
    status, reply, _ = raw(server, "PUT", f"/s/{session['id']}/api/contents/big.bin", headers, body)
    assert status in (200, 201), reply[:300]

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.request("GET", f"/s/{session['id']}/files/big.bin", headers={"Authorization": headers["Authorization"]})
    response = connection.getresponse()
    assert response.status == 200
    digest = hashlib.sha256()
    pieces = 0
    while chunk := response.read(256 * 1024):
        digest.update(chunk)
        pieces += 1
    assert digest.hexdigest() == hashlib.sha256(payload).hexdigest()
    assert pieces > 1


def enter(server, session_id, cookie, path):
    """A browser's way in: the gateway sends it to the session's own port with a ticket, which
    that port trades for a pass. Returns (origin of the session's port, pass cookie)."""
    status, _, response = raw(server, "GET", path, {"Cookie": cookie})
    assert status == 302
    location = urllib.parse.urlsplit(response.getheader("Location"))
    assert location.hostname == "127.0.0.1" and location.port != server.port, location
    assert location.path == path and "gpupool-ticket=" in location.query
    connection = http.client.HTTPConnection("127.0.0.1", location.port, timeout=30)
    connection.request("GET", f"{location.path}?{location.query}")
    response = connection.getresponse()
    assert response.status == 302 and response.getheader("Location") == path
    assert "HttpOnly" in response.getheader("Set-Cookie")
    return f"http://127.0.0.1:{location.port}", response.getheader("Set-Cookie").split(";")[0]


def test_browser_login_works_on_the_sessions_own_port_and_logout_closes_its_websockets(server, running):
    name, owner, session = running
    cookie, csrf = login(server, name, owner.password)
    path = f"/s/{session['id']}/api/kernels"
    origin, session_pass = enter(server, session["id"], cookie, path)
    port = int(origin.rsplit(":", 1)[1])
    at_port = lambda method, headers, body=None: raw_at(port, method, path, headers, body)
    assert at_port("GET", {"Cookie": session_pass})[0] == 200
    assert at_port("GET", {"Cookie": cookie})[0] == 404, "the login cookie opens no session"
    status, body, _ = at_port("POST", {"Cookie": session_pass, "Origin": origin,
                                       "Content-Type": "application/json"}, b"{}")
    assert status in (200, 201), body
    kernel = json.loads(body)["id"]
    for foreign in ("http://evil.example", server.base):
        evil = at_port("POST", {"Cookie": session_pass, "Origin": foreign, "Content-Type": "application/json"}, b"{}")
        assert evil[0] == 403, foreign

    ws_url = origin.replace("http://", "ws://") + f"{path}/{kernel}/channels"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(ws_url, timeout=30, header=[f"Cookie: {session_pass}"], origin=server.base)
    assert refused.value.status_code == 403
    connection = websocket.create_connection(ws_url, timeout=30, header=[f"Cookie: {session_pass}"], origin=origin)
    connection.settimeout(30)
    status, _, _ = raw(server, "POST", "/api/v1/auth/logout",
                       {"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": server.base})
    assert status == 200
    deadline = time.time() + 20
    closed = False
    while time.time() < deadline and not closed:
        try:
            connection.recv()  # Jupyter's status messages, until the gateway closes the tunnel
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            closed = True
    assert closed, "logout closes the WebSockets opened with that login"
    assert at_port("GET", {"Cookie": session_pass})[0] == 404, "the pass died with its login"
    assert raw(server, "GET", path, {"Cookie": cookie})[0] == 404, "the cookie is dead"


def raw_at(port, method, path, headers=None, body=None):
    """One request to another of the gateway's ports."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read(), response
