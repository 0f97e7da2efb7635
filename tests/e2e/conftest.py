"""A real `gpupool up` for the end-to-end tests, and small helpers to talk to it.

The server runs on a free port with its own data dir, node name and host-port range, so it
never touches the containers of another gpupool on the same engine. Teardown removes this
run's containers and home volumes.
"""
import fcntl
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone

import pytest
import websocket

BINARY = os.environ.get("GPUPOOL_BINARY", os.path.join(os.path.dirname(__file__), "..", "..", "build", "gpupool"))
ADMIN_PASSWORD = "e2e-" + secrets.token_hex(8)


PORT_RANGE_LOCKS = os.path.join(tempfile.gettempdir(), "gpupool-e2e-port-ranges")


def reserve_port_range():
    """A host-port range no other test server holds: servers of test files running in parallel
    must not publish sessions on the same ports. The lock lasts as long as the test process."""
    os.makedirs(PORT_RANGE_LOCKS, exist_ok=True)
    while True:
        # Below Linux's ephemeral range (32768+), so no outgoing connection holds these ports.
        low = random.randrange(22000, 28000, 100)
        lock = open(os.path.join(PORT_RANGE_LOCKS, str(low)), "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return low, lock
        except BlockingIOError:
            lock.close()


_HELD_PORT_RANGES = []


def held_port_range(count):
    """`count` ports (at most 100) from a range no other test process holds, held until this
    one ends: for listeners opened after the test starts, which a port picked at random (or from
    the ephemeral range, where outgoing connections take theirs) could find taken."""
    low, lock = reserve_port_range()
    _HELD_PORT_RANGES.append(lock)
    return low, low + count - 1


_free_ports = []


def free_port():
    """A port free now, from ranges this process holds: not the ephemeral range, where an
    outgoing connection may take it before the listener that it is for binds it."""
    while True:
        if not _free_ports:
            low, high = held_port_range(100)
            _free_ports.extend(range(high, low - 1, -1))
        port = _free_ports.pop()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


class Api:
    """JSON over HTTP with an optional bearer token; returns (status, parsed body)."""

    def __init__(self, base, token=None, tls_context=None):
        self.base = base
        self.token = token
        self.tls_context = tls_context

    def call(self, method, path, body=None, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=60, context=self.tls_context) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, text.decode(errors="replace")

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, body, **kwargs)


class Server:
    def __init__(self, admin_password=ADMIN_PASSWORD, extra_args=(), tls_context=None,
                 gpus=("--simulate-gpus", "4xA100-80GB"), env=None):
        self.admin_password = admin_password
        self.extra_args = list(extra_args)
        self.gpus = list(gpus)  # () for what NVML finds
        self.env = dict(env or {})
        self.tls_context = tls_context  # the server speaks HTTPS, trusted through this
        self.data_dir = tempfile.mkdtemp(prefix="gpupool-e2e-")
        self.port = free_port()
        self.node = "e2e-" + secrets.token_hex(4)
        low, self.port_range_lock = reserve_port_range()
        self.port_range = f"{low}-{low + 99}"
        self.base = f"{'https' if tls_context else 'http'}://127.0.0.1:{self.port}"
        self.process = None
        self.log_path = os.path.join(self.data_dir, "server.log")

    def start(self):
        env = {**os.environ, **self.env}
        env.pop("GPUPOOL_ADMIN_PASSWORD", None)
        if self.admin_password:
            env["GPUPOOL_ADMIN_PASSWORD"] = self.admin_password
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [BINARY, "up", "--data-dir", self.data_dir, "--listen", f"127.0.0.1:{self.port}",
             *self.gpus, "--public-host", "127.0.0.1", "--node-name", self.node,
             "--port-range", self.port_range, "--session-ports", "16",
             # This test machine has 2 cores: let sessions share them (CPU limits stay per session).
             "--node-cpus", "64", "--node-memory-gb", "256", "--preemption-grace-seconds", "2",
             "--node-label", "zone=e2e", *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            assert self.process.poll() is None, "gpupool up exited:\n" + self.log()
            status, _ = Api(self.base, tls_context=self.tls_context).get("/readyz") if self._answers() else (0, None)
            if status == 200:
                return
            time.sleep(0.2)
        raise AssertionError("gpupool up did not become ready:\n" + self.log())

    def _answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self, how=signal.SIGTERM):
        """Stops the server with `how` and returns its exit status."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(how)
            return self.process.wait(timeout=30)
        return self.process.returncode if self.process else None

    def log(self):
        with open(self.log_path) as handle:
            return handle.read()[-5000:]


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True)


def remove_containers(instance):
    """Removes the session containers a test server's node left behind, and their networks (a
    host with hundreds of bridges makes Chromium see the network change as tests create more)."""
    ids = docker("ps", "-aq", "--filter", f"label=io.gpupool.node={instance.node}").stdout.split()
    if ids:
        docker("rm", "-f", *ids)
    networks = docker("network", "ls", "-q", "--filter", f"label=io.gpupool.node={instance.node}").stdout.split()
    if networks:
        docker("network", "rm", *networks)


@pytest.fixture(scope="session")
def server():
    instance = Server()
    instance.start()
    yield instance
    instance.stop()
    remove_containers(instance)
    print(instance.log())
    shutil.rmtree(instance.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def admin(server):
    api = Api(server.base)
    status, body = api.post("/api/v1/auth/login", {"username": "admin", "password": ADMIN_PASSWORD})
    assert status == 200, body
    return Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))


def mint_token(base, username, password, tls_context=None):
    """Logs in with the password (cookie + CSRF token) and mints an API token, as the CLI does."""
    request = urllib.request.Request(base + "/api/v1/auth/login", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30, context=tls_context) as response:
        cookie = response.headers["Set-Cookie"].split(";")[0]
        csrf = json.loads(response.read())["csrf_token"]
    request = urllib.request.Request(base + "/api/v1/tokens", method="POST", data=b"{}",
                                     headers={"Cookie": cookie, "X-CSRF-Token": csrf})
    with urllib.request.urlopen(request, timeout=30, context=tls_context) as response:
        return json.loads(response.read())["token"]


created_volumes = []


@pytest.fixture(scope="session")
def make_user(server, admin):
    """Creates a fresh user (random name, so homes never carry over between runs)."""
    def create(prefix):
        name = prefix + secrets.token_hex(3)
        password = "pw-" + secrets.token_hex(8)
        status, body = admin.post("/api/v1/users", {"username": name, "password": password})
        assert status == 201, body
        created_volumes.append("gpupool-home-" + name)
        api = Api(server.base, mint_token(server.base, name, password))
        api.password = password
        return name, api
    yield create
    for volume in created_volumes:
        docker("volume", "rm", "-f", volume)


@pytest.fixture(scope="module")
def key_pair():
    """An SSH key pair of the test's own: (private key path, public key line)."""
    directory = tempfile.mkdtemp(prefix="gpupool-e2e-key-")
    path = os.path.join(directory, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    with open(path + ".pub") as handle:
        yield path, handle.read().strip()
    shutil.rmtree(directory, ignore_errors=True)


def wait_for_state(api, session_id, wanted, timeout=180):
    deadline = time.time() + timeout
    body = None
    while time.time() < deadline:
        status, body = api.get(f"/api/v1/sessions/{session_id}")
        assert status == 200, body
        if body["state"] in wanted:
            return body
        if body["state"] == "ended":
            break
        time.sleep(0.25)
    raise AssertionError(f"session {session_id} never reached {wanted}: {body}")


def listed_node(admin, name, timeout=30):
    """The node as GET /api/v1/nodes lists it, once its agent has synced."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for node in admin.get("/api/v1/nodes")[1]["nodes"]:
            if node["name"] == name:
                return node
        time.sleep(0.2)
    raise AssertionError(f"node {name} never listed")


def request_sessions(api, count, body=None):
    """Asks for `count` sessions (one GPU each unless `body` says otherwise); their ids."""
    ids = []
    for _ in range(count):
        status, session = api.post("/api/v1/sessions", body or {"gpus": 1})
        assert status == 201, session
        ids.append(session["id"])
    return ids


def seconds_of(stamp):
    """An API time ("2026-12-03T05:30:01.123Z") in seconds since the epoch."""
    return datetime.fromisoformat(stamp).timestamp()


def run_in_kernel(session, code, api):
    """Starts a kernel through the gateway's proxy to Jupyter's REST API, signed in with the
    user's API token, and runs `code` over the kernel WebSocket (proxied too, WSS under TLS)."""
    base = session["jupyter"]["url"]
    authorization = "Bearer " + api.token
    request = urllib.request.Request(f"{base}api/kernels", method="POST", data=b"{}",
                                     headers={"Authorization": authorization})
    with urllib.request.urlopen(request, timeout=60, context=api.tls_context) as response:
        kernel = json.loads(response.read())
    ws_url = base.replace("http", "ws", 1) + f"api/kernels/{kernel['id']}/channels"
    connection = websocket.create_connection(ws_url, timeout=60, header=[f"Authorization: {authorization}"],
                                             sslopt={"context": api.tls_context} if api.tls_context else None)
    try:
        message_id = uuid.uuid4().hex
        connection.send(json.dumps({
            "header": {"msg_id": message_id, "username": "e2e", "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3",
                       "date": datetime.now(timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        output = ""
        while True:
            message = json.loads(connection.recv())
            if message.get("parent_header", {}).get("msg_id") != message_id:
                continue
            if message["msg_type"] == "stream":
                output += message["content"]["text"]
            if message["msg_type"] == "error":
                raise AssertionError("kernel error: " + "\n".join(message["content"]["traceback"]))
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return output
    finally:
        connection.close()


SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
               "-o", "ConnectTimeout=10"]


def ssh(session, key, command, user=None, extra=()):
    info = session["ssh"]
    return subprocess.run(
        ["ssh", *SSH_OPTIONS, "-o", "BatchMode=yes", *extra, "-i", key, "-p", str(info["port"]),
         f"{user or info['user']}@{info['host']}", command],
        capture_output=True, text=True, timeout=60)


@pytest.fixture
def small_disk():
    """A 64 MiB ext4 filesystem, mounted; unmounted and removed afterwards."""
    work = tempfile.mkdtemp(prefix="gpupool-disk-")
    image, mount = os.path.join(work, "disk.img"), os.path.join(work, "mnt")
    os.mkdir(mount)
    subprocess.run(["truncate", "-s", "64M", image], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", image], check=True)
    subprocess.run(["mount", "-o", "loop", image, mount], check=True)
    yield mount
    subprocess.run(["umount", "-l", mount])
    shutil.rmtree(work, ignore_errors=True)


def fill(mount, leave_mb):
    """Writes a filler file until `leave_mb` MiB are left free (0: until the disk is full)."""
    path = os.path.join(mount, "filler")
    with open(path, "ab") as filler:
        block = b"\0" * (1 << 20)
        while True:
            disk = os.statvfs(mount)
            free_mb = disk.f_bavail * disk.f_frsize / (1 << 20)
            if free_mb <= leave_mb:
                break
            try:
                filler.write(block if free_mb - leave_mb >= 1 or leave_mb == 0 else block[:4096])
                filler.flush()
                os.fsync(filler.fileno())
            except OSError:
                break  # full
    return path


def engine_answers():
    return docker("version", "--format", "{{.Server.Version}}").returncode == 0


def restart_engine():
    """Stops dockerd as a host shutdown would (SIGTERM: it stops every container) and starts it
    again with the command line and environment it had."""
    if os.path.isdir("/run/systemd/system") and subprocess.run(
            ["systemctl", "is-active", "--quiet", "docker"]).returncode == 0:
        subprocess.run(["systemctl", "restart", "docker"], check=True, timeout=120)
    else:
        pid = int(subprocess.run(["pgrep", "-xo", "dockerd"], capture_output=True, text=True,
                                 check=True).stdout.split()[0])
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = [part.decode() for part in handle.read().split(b"\0") if part]
        with open(f"/proc/{pid}/environ", "rb") as handle:
            environment = dict(part.decode(errors="replace").split("=", 1)
                               for part in handle.read().split(b"\0") if b"=" in part)
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 90
        while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)  # a dockerd an earlier restart here started is our child
            except ChildProcessError:
                pass
            time.sleep(0.2)
        assert not os.path.exists(f"/proc/{pid}"), "dockerd did not stop within 90 s"
        log = open("/var/log/gpupool-dockerd.log", "a")
        subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment,
                         start_new_session=True)
    deadline = time.time() + 90
    while not engine_answers():
        assert time.time() < deadline, "dockerd did not come back within 90 s"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def real_gpus_env():
    """The environment of a node with real GPUs: NVML that finds two H100s (the stand-in,
    tests/fakes/fake_nvml.cpp), and an NVIDIA container toolkit without known escapes (a
    script that answers its version)."""
    directory = tempfile.mkdtemp(prefix="gpupool-e2e-gpus-")
    os.symlink(os.environ["GPUPOOL_FAKE_NVML"], os.path.join(directory, "libnvidia-ml.so.1"))
    toolkit = os.path.join(directory, "nvidia-ctk")
    with open(toolkit, "w") as script:
        script.write("#!/bin/sh\necho 'NVIDIA Container Toolkit CLI version 1.17.8'\n")
    os.chmod(toolkit, 0o755)
    yield {"LD_LIBRARY_PATH": directory, "PATH": directory + ":" + os.environ["PATH"]}
    shutil.rmtree(directory, ignore_errors=True)


# Runs in the session's kernel: one connection attempt per target, "open" or why not.
PROBE = """
import json, socket
def reach(host, port):
    try:
        with socket.create_connection((host, port), timeout=4):
            return "open"
    except OSError as error:
        return type(error).__name__
print(json.dumps({f"{host}:{port}": reach(host, port) for host, port in %s}))
"""


def probe(session, api, targets):
    return json.loads(run_in_kernel(session, PROBE % repr(targets), api))


@pytest.fixture(scope="module")
def host_service():
    """A service on every address of this host, like a database, a node exporter or an engine
    listening on TCP: sessions must not reach it."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                listener.accept()[0].close()
            except OSError:
                pass
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def wait_until_open(host, port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False
