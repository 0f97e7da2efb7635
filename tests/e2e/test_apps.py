"""A session's web apps through the gateway (`gpupool expose`): a real app started in a real
session (Python's http.server with a WebSocket echo), reached by its owner, by a user it is
shared with, by a group, by a link that expires — and the same 404 for everyone else."""
import http.client
import json
import os
import re
import socket
import tempfile

import pytest
import websocket

from conftest import run_in_kernel, wait_for_state
from test_browser import ATTACK, BROWSER_TESTS, run_to_end
from test_cli import cli
from test_proxy import raw

APP = os.path.join(os.path.dirname(__file__), "apps", "web_app.py")


def start_app(session, api, port, keep_path=False):
    """Starts the web app in the session from a notebook kernel, and waits until it answers there."""
    with open(APP) as handle:
        source = handle.read()
    code = f"""
import os, subprocess, time, urllib.request
os.makedirs(os.path.expanduser("~/site"), exist_ok=True)
open(os.path.expanduser("~/site/hello.txt"), "w").write("hello from {session['id']}\\n")
open(os.path.expanduser("~/web_app.py"), "w").write({source!r})
subprocess.Popen(["python3", os.path.expanduser("~/web_app.py"), "{port}", os.path.expanduser("~/site")],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(100):
    try:
        urllib.request.urlopen("http://127.0.0.1:{port}/hello.txt", timeout=2)
        print("up")
        break
    except OSError:
        time.sleep(0.1)
"""
    assert run_in_kernel(session, code, api) == "up\n"


@pytest.fixture(scope="module")
def people(make_user, admin):
    alice = make_user("alice")
    bob = make_user("bob")
    carol = make_user("carol")
    dave = make_user("dave")
    group = "viewers" + dave[0][-6:]
    assert admin.post("/api/v1/groups", {"name": group})[0] == 201
    status, body = admin.call("PUT", f"/api/v1/groups/{group}/members", {"users": [dave[0]]})
    assert status == 200, body
    return alice, bob, carol, dave, group


@pytest.fixture(scope="module")
def running(people):
    (_, alice), *_ = people
    status, session = alice.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    session = wait_for_state(alice, session["id"], {"running"})
    start_app(session, alice, 6006)
    start_app(session, alice, 6007)
    yield session
    alice.call("DELETE", f"/api/v1/sessions/{session['id']}")


def bearer(api):
    return {"Authorization": "Bearer " + api.token}


def test_an_exposed_app_opens_for_those_it_is_shared_with_and_404_for_others(server, people, running):
    (alice_name, alice), (bob_name, bob), (_, carol), (_, dave), group = people
    sid = running["id"]
    page = f"/s/{sid}/apps/6006/hello.txt"
    not_found = raw(server, "GET", f"/s/{sid}x/apps/6006/hello.txt", bearer(alice))
    assert not_found[0] == 404

    # Not exposed yet: the owner too gets the 404 of a session that is not there.
    status, body, _ = raw(server, "GET", page, bearer(alice))
    assert (status, body) == (404, not_found[1])

    # The owner exposes it with the CLI, shared with bob and a group.
    home = tempfile.mkdtemp(prefix="gpupool-apps-")
    assert cli(home, "login", server.base, "-u", alice_name, "--password-stdin",
               stdin=alice.password + "\n").returncode == 0
    exposed = cli(home, "expose", sid, "6006", "--share", bob_name, "--share-group", group)
    assert exposed.returncode == 0, exposed.stderr
    assert f"{server.base}/s/{sid}/apps/6006/" in exposed.stdout and bob_name in exposed.stdout
    listed = cli(home, "expose", sid)
    assert listed.returncode == 0 and listed.stdout.startswith("6006 "), listed.stdout

    for caller in (alice, bob, dave):
        status, body, _ = raw(server, "GET", page, bearer(caller))
        assert (status, body) == (200, f"hello from {sid}\n".encode()), caller.token[:6]
    for headers in (bearer(carol), {}):
        status, body, _ = raw(server, "GET", page, headers)
        assert (status, body) == (404, not_found[1]), headers
    # Another port of the session, not exposed (an app listens there): the same 404.
    status, body, _ = raw(server, "GET", f"/s/{sid}/apps/6007/hello.txt", bearer(alice))
    assert (status, body) == (404, not_found[1])
    for bad in ("0", "65536", "06006", "x", "6006x"):
        assert raw(server, "GET", f"/s/{sid}/apps/{bad}/", bearer(alice))[0] == 404, bad

    # The app sees its own path, is told the prefix, and never gets the caller's credentials.
    status, body, _ = raw(server, "GET", f"/s/{sid}/apps/6006/echo?x=1",
                          {**bearer(bob), "Cookie": "gpupool_session=abc; mine=1"})
    assert status == 200, body
    seen = json.loads(body)
    assert seen["path"] == "/echo?x=1" and seen["prefix"] == f"/s/{sid}/apps/6006"
    assert seen["authorization"] is None and seen["cookie"] == "mine=1", seen

    # A WebSocket through the gateway, for a user it is shared with; refused for others.
    url = server.base.replace("http://", "ws://") + f"/s/{sid}/apps/6006/ws"
    connection = websocket.create_connection(url, timeout=30, header=[f"Authorization: Bearer {bob.token}"])
    connection.send("ping")
    assert connection.recv() == "echo: ping"
    connection.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=30, header=[f"Authorization: Bearer {carol.token}"])
    assert refused.value.status_code == 404

    # Unshared again: bob is out, and unexpose takes it away from everyone.
    assert cli(home, "expose", sid, "6006").returncode == 0
    assert raw(server, "GET", page, bearer(bob))[0] == 404
    assert raw(server, "GET", page, bearer(alice))[0] == 200
    assert cli(home, "unexpose", sid, "6006").returncode == 0
    assert raw(server, "GET", page, bearer(alice))[0] == 404
    assert cli(home, "unexpose", sid, "6006").returncode == 1


def test_a_link_opens_an_app_for_anyone_until_it_is_replaced(server, people, running):
    (_, alice), (_, bob), *_ = people
    sid = running["id"]
    status, app = alice.post(f"/api/v1/sessions/{sid}/apps", {"port": 6007, "link_hours": 1})
    assert status == 201, app
    link = app["link"]
    match = re.match(r"http://127\.0\.0\.1:(\d+)(/s/[^?]+)\?gpupool-link=([\w-]+)$", link)
    assert match, link
    port, path, token = int(match[1]), match[2], match[3]
    assert port != server.port, "a link is on the session's own address, never the portal's"

    def get(target, cookie=None):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", target, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.read(), response

    status, _, response = get(f"{path}?gpupool-link={token}")
    assert status == 302 and response.getheader("Location") == path
    cookie = response.getheader("Set-Cookie")
    assert f"Path={path};" in cookie and "HttpOnly" in cookie, cookie
    cookie = cookie.split(";")[0]
    assert get(path + "hello.txt", cookie)[:2] == (200, f"hello from {sid}\n".encode())
    assert get(path + "hello.txt")[0] == 404, "without the link's cookie"
    assert get(f"{path}?gpupool-link=x{token}")[0] == 404
    # Its cookie opens this app only: not Jupyter, not another app of the session.
    assert get(f"/s/{sid}/api/kernels", cookie)[0] == 404
    # Another link replaces it; the old one and its cookie stop working.
    status, again = alice.post(f"/api/v1/sessions/{sid}/apps", {"port": 6007, "link_hours": 1})
    assert status == 201 and again["link"] != link
    assert get(path + "hello.txt", cookie)[0] == 404
    assert get(f"{path}?gpupool-link={token}")[0] == 404
    # bob may not expose or list alice's apps; alice sees the link's end, never its token.
    assert bob.post(f"/api/v1/sessions/{sid}/apps", {"port": 6007})[0] == 404
    assert bob.get(f"/api/v1/sessions/{sid}/apps")[0] == 404
    status, listed = alice.get(f"/api/v1/sessions/{sid}/apps")
    assert status == 200 and listed["apps"][0]["link_expires_at"], listed
    assert token not in json.dumps(listed)


def test_paths_kept_whole_closed_ports_and_bad_requests(server, people, running):
    (_, alice), *_ = people
    sid = running["id"]
    # keep_path: the app is told its prefix ($GPUPOOL_APPS_PATH) and gets paths whole.
    assert alice.post(f"/api/v1/sessions/{sid}/apps", {"port": 6007, "keep_path": True})[0] == 201
    status, body, _ = raw(server, "GET", f"/s/{sid}/apps/6007/echo", bearer(alice))
    assert status == 200 and json.loads(body)["path"] == f"/s/{sid}/apps/6007/echo", body
    env = run_in_kernel(running, "import os; print(os.environ['GPUPOOL_APPS_PATH'])", alice)
    assert env == f"/s/{sid}/apps/\n"
    # A bare app address gets its slash.
    status, _, response = raw(server, "GET", f"/s/{sid}/apps/6007", bearer(alice))
    assert status == 302 and response.getheader("Location") == f"/s/{sid}/apps/6007/"
    # Exposed, but nothing listens there: the owner is told so.
    assert alice.post(f"/api/v1/sessions/{sid}/apps", {"port": 6009})[0] == 201
    status, body, _ = raw(server, "GET", f"/s/{sid}/apps/6009/", bearer(alice))
    assert status == 502 and b"Port 6009 of this session is not reachable" in body, body
    # Bad requests get a 400 that says why.
    for bad in ({"port": 0}, {"port": 70000}, {"port": "80"}, {}, {"port": 80, "users": ["no-such-user"]},
                {"port": 80, "groups": ["no-such-group"]}, {"port": 80, "link_hours": 10000},
                {"port": 80, "colour": "red"}):
        status, body = alice.post(f"/api/v1/sessions/{sid}/apps", bad)
        assert status == 400 and body["error"], (bad, body)


def test_the_node_relay_takes_only_a_running_sessions_token(server, running):
    relay_port = int(re.findall(r"app relay: sessions' web apps reached at 127\.0\.0\.1:(\d+)",
                                open(server.log_path).read())[-1])

    def ask(line):
        with socket.create_connection(("127.0.0.1", relay_port), timeout=15) as connection:
            connection.sendall(line)
            return connection.recv(200)

    sid = running["id"]
    assert ask(f"APP {sid} 6006 wrongtoken\n".encode()) == b"ERR no such session running here\n"
    assert ask(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"ERR ")
    assert ask(b"APP " + b"a" * 600 + b"\n") == b"", "a line too long is cut off"


WS_PAGE = """<!doctype html><title>ws</title><script>
const socket = new WebSocket(location.href.replace(/^http/, "ws").replace(/ws\\.html.*$/, "ws"));
socket.onopen = () => socket.send("hi");
socket.onmessage = (event) => { window.wsEcho = event.data; };
socket.onerror = () => { window.wsEcho = "error"; };
</script>"""


def test_an_app_in_chromium_for_the_owner_a_sharee_and_a_stranger(server, make_user):
    """Its own session and users: the portal's form makes the app from scratch."""
    owner_name, owner = make_user("anna")
    bob_name, bob = make_user("ben")
    carol_name, carol = make_user("cora")
    status, session = owner.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    session = wait_for_state(owner, session["id"], {"running"})
    try:
        start_app(session, owner, 6006)
        pages = {"ws.html": WS_PAGE,
                 "evil.html": "<!doctype html><title>evil</title><script>" +
                              ATTACK.replace("PORTAL", server.base) + "</script>"}
        planted = run_in_kernel(session, "import os\n" + "".join(
            f"open(os.path.expanduser('~/site/{name}'), 'w').write({text!r})\n" for name, text in pages.items())
            + "print('planted')", owner)
        assert planted == "planted\n"
        returncode, output = run_to_end(
            ["node", "apps.mjs", server.base, session["id"], owner_name, owner.password, bob_name, bob.password,
             carol_name, carol.password], BROWSER_TESTS, timeout=360)
        assert returncode == 0, f"exit {returncode}\n{output}"
        assert "apps: all steps passed" in output, output
    finally:
        owner.call("DELETE", f"/api/v1/sessions/{session['id']}")
