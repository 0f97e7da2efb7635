"""The gateway under exhaustion, against a real server and real sessions: thousands of idle
sockets and a user's hundred WebSockets do not stop health checks, the API or another user's
Jupyter; idle connections and tunnels are closed; a refused caller's body is never read and an
allowed upload streams with bounded memory; SIGTERM lets a download under way finish."""
import http.client
import json
import os
import resource
import signal
import socket
import threading
import time
import urllib.request

import pytest
import websocket

from conftest import ADMIN_PASSWORD, Api, Server, docker, mint_token, remove_containers, run_in_kernel, wait_for_state

PER_SOURCE = 200
WEBSOCKETS_PER_USER = 100
IDLE_SECONDS = 10
WEBSOCKET_IDLE_SECONDS = 15  # the hundred tunnels take a few seconds to open


@pytest.fixture(scope="module")
def gateway():
    """A server with tight limits, and two users with a running session each."""
    instance = Server(extra_args=["--max-connections-per-source", str(PER_SOURCE),
                                  "--max-websockets-per-user", str(WEBSOCKETS_PER_USER),
                                  "--idle-timeout", str(IDLE_SECONDS),
                                  "--websocket-idle-timeout", str(WEBSOCKET_IDLE_SECONDS)])
    instance.start()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this test holds thousands
    try:
        admin = Api(instance.base, mint_token(instance.base, "admin", ADMIN_PASSWORD))
        users = {}
        for name in ("hog", "calm"):
            password = "pw-" + name + "-long-enough"
            status, body = admin.post("/api/v1/users", {"username": name, "password": password})
            assert status == 201, body
            api = Api(instance.base, mint_token(instance.base, name, password))
            status, session = api.post("/api/v1/sessions", {"gpus": 1})
            assert status == 201, session
            users[name] = (api, session["id"])
        users = {name: (api, wait_for_state(api, sid, {"running"})) for name, (api, sid) in users.items()}
        yield instance, users
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        instance.stop()
        remove_containers(instance)
        for name in ("hog", "calm"):
            docker("volume", "rm", "-f", "gpupool-home-" + name)


def connect_from(port, source):
    connection = socket.socket()
    connection.bind((source, 0))
    connection.settimeout(10)
    connection.connect(("127.0.0.1", port))
    return connection


def status_of(server, path, headers=None):
    request = urllib.request.Request(server.base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def open_descriptors(server):
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


def settled_descriptors(server):
    """The server's descriptors once it has taken every pending connection."""
    count, deadline = -1, time.time() + 10
    while time.time() < deadline:
        time.sleep(0.5)
        count, previous = open_descriptors(server), count
        if count == previous:
            break
    return count


def memory_kib(server, field):
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no " + field)


def peak_memory_kib(server):
    return memory_kib(server, "VmHWM")


def kernel_socket(session, api):
    """A new kernel in the session, and the URL and headers of its WebSocket."""
    base = session["jupyter"]["url"]
    request = urllib.request.Request(base + "api/kernels", method="POST", data=b"{}",
                                     headers={"Authorization": "Bearer " + api.token})
    with urllib.request.urlopen(request, timeout=60) as response:
        kernel = json.loads(response.read())["id"]
    return base.replace("http", "ws", 1) + f"api/kernels/{kernel}/channels", [f"Authorization: Bearer {api.token}"]


def test_idle_sockets_and_one_users_websockets_leave_everyone_else_served(gateway):
    server, users = gateway
    hog_api, hog_session = users["hog"]
    calm_api, calm_session = users["calm"]
    before = open_descriptors(server)

    # The hog's hundred WebSockets, the most one user may hold.
    url, headers = kernel_socket(hog_session, hog_api)
    tunnels = [websocket.create_connection(url, timeout=30, header=headers) for _ in range(WEBSOCKETS_PER_USER)]
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=30, header=headers)
    assert refused.value.status_code == 429

    # Two thousand idle sockets from one address (all past the first 200 turned away at once)
    # and a thousand from a hundred others.
    idle = [connect_from(server.port, "127.0.0.2") for _ in range(2000)]
    for source in range(100):
        for _ in range(10):
            idle.append(connect_from(server.port, f"127.0.1.{source + 1}"))
    turned_away = idle[1500]
    turned_away.settimeout(5)
    assert turned_away.recv(4096).startswith(b"HTTP/1.1 503"), "past its source's cap: 503 and closed"
    held = settled_descriptors(server) - before
    print(f"gateway holds {held} more descriptors; resident {memory_kib(server, 'VmRSS') // 1024} MiB, "
          f"peak {peak_memory_kib(server) // 1024} MiB")
    # One descriptor per idle socket admitted, two per tunnel: the other 1800 were turned away.
    assert held <= PER_SOURCE + 1000 + 2 * WEBSOCKETS_PER_USER + 20, "the per-source cap held"
    assert status_of(server, "/healthz") == 200
    assert status_of(server, "/api/v1/sessions", {"Authorization": "Bearer " + calm_api.token}) == 200
    assert run_in_kernel(calm_session, "print(6 * 7)", calm_api) == "42\n", "another user's Jupyter answers"

    # Idle sockets and tunnels go away by themselves; the hog may open WebSockets again.
    time.sleep(WEBSOCKET_IDLE_SECONDS + 1)
    dropped = 0
    for connection in idle[:50]:
        try:
            dropped += connection.recv(1) == b""
        except OSError:
            dropped += 1
    assert dropped == 50, "idle connections are closed by the gateway"
    for tunnel in tunnels[:5]:
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError, OSError)):
            for _ in range(10000):  # what Jupyter sent while they opened, then the end
                tunnel.recv()
    for connection in idle:
        connection.close()
    for tunnel in tunnels:
        tunnel.close()
    assert open_descriptors(server) < before + 20, "every descriptor came back"
    websocket.create_connection(url, timeout=30, header=headers).close()


def test_a_refused_upload_is_never_read_and_an_allowed_one_streams(gateway):
    server, users = gateway
    hog_api, hog_session = users["hog"]
    calm_api, _ = users["calm"]
    target = f"/s/{hog_session['id']}/api/contents/upload.bin"

    # Another user declares a gigabyte: the 404 comes back without a byte of it read.
    connection = connect_from(server.port, "127.0.0.3")
    connection.sendall((f"PUT {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {calm_api.token}\r\n"
                        "Content-Length: 1073741824\r\n\r\n").encode())
    answer = connection.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 404"), answer
    connection.close()

    # The owner sends 256 MiB in one request: it reaches Jupyter (which judges it), and the
    # gateway's resident memory (sampled as it goes) does not grow with it.
    resident_before = memory_kib(server, "VmRSS")
    peak = [resident_before]
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            peak[0] = max(peak[0], memory_kib(server, "VmRSS"))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    size = 256 * 1024 * 1024
    piece = b"x" * (1024 * 1024)
    connection = connect_from(server.port, "127.0.0.3")
    connection.settimeout(120)
    connection.sendall((f"PUT {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {hog_api.token}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n").encode())
    for _ in range(size // len(piece)):
        connection.sendall(piece)
    answer = connection.recv(4096).decode(errors="replace")
    connection.close()
    sampling.set()
    sampler.join()
    status = int(answer.split()[1])
    assert status not in (413, 502, 503), answer[:300]  # Jupyter's own answer to bad JSON
    grown = peak[0] - resident_before
    print(f"gateway resident memory grew by {grown} KiB at most for a {size >> 20} MiB upload")
    assert grown < 32 * 1024, "the body streamed through; it was not held"


def test_sigterm_lets_requests_under_way_finish_and_closes_the_rest(gateway):
    """Last in this file: it stops the module's server."""
    server, users = gateway
    hog_api, hog_session = users["hog"]
    size = 48 * 1024 * 1024
    run_in_kernel(hog_session, f"open('big.bin', 'wb').write(b'g' * {size}); print('ok')", hog_api)
    authorization = {"Authorization": "Bearer " + hog_api.token}

    idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    idle.request("GET", "/healthz")
    idle.getresponse().read()  # kept alive, waiting for a next request
    events = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    events.request("GET", "/api/v1/events", headers=authorization)
    event_stream = events.getresponse()
    assert event_stream.status == 200
    download = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    download.request("GET", f"/s/{hog_session['id']}/files/big.bin", headers=authorization)
    response = download.getresponse()
    assert response.status == 200
    received = len(response.read(1024 * 1024))

    server.process.send_signal(signal.SIGTERM)
    began = time.time()
    while chunk := response.read(256 * 1024):  # slowly, but within the drain bound
        received += len(chunk)
        time.sleep(0.005)
    assert received == size, "the download under way finished"
    assert server.process.wait(timeout=30) == 0
    print(f"stopped {time.time() - began:.1f} s after SIGTERM")
    assert time.time() - began < 15
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        idle.request("GET", "/healthz")
        idle.getresponse()
    assert event_stream.read() is not None  # the stream ended rather than hung
    assert "every connection drained" in server.log()
    wal = os.path.join(server.data_dir, "gpupool.db-wal")
    assert not os.path.exists(wal) or os.path.getsize(wal) == 0, "the store closed cleanly"
