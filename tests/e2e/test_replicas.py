"""Several `gpupool server`s on one PostgreSQL database behind HAProxy: every one serves the
API and agents' syncs, exactly one (the leader) places sessions, and the control plane
survives losing any one of them.

The run's PostgreSQL server (tests/postgres/start.sh) holds a fresh database; three servers
share one certificate, so that agents pin it whichever answers; HAProxy (Debian's) spreads
TCP connections over them and drops one that stops answering. Four GPU servers are posed by
bench/sync_load (agents that report every session they are given as running), so that only
the control plane is on trial; one real agent on this machine's Docker engine runs a real
session, whose Jupyter every server proxies (`--session-domain`: by the Host header, on the
servers' one port). A stream of session requests, stops and top-ups — each retried
with its Idempotency-Key, as the CLI does — runs while the leader is killed with SIGKILL and
while PostgreSQL restarts; then every invariant is checked against the database itself."""
import os
import random
import secrets
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import ADMIN_PASSWORD, BINARY, Api, docker, free_port, mint_token, reserve_port_range

IMAGE_TAG = "pytorch1.13-cpu-debian12-runtime"
SYNC_LOAD = os.path.join(os.path.dirname(BINARY), "bench", "sync_load")
POSTGRES = os.environ.get("GPUPOOL_TEST_POSTGRES", "")
START_POSTGRES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "postgres",
                              "start.sh")
NODES = 4
GPUS_PER_NODE = 8
ACTIVE_AT_MOST = 16  # the stream's sessions at once: half the GPUs, so every request has room


def psql(url, sql):
    """Runs `sql` with psql; its rows as lists of strings."""
    done = subprocess.run(["psql", url, "-qAtX", "-F", "\t", "-c", sql], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return [line.split("\t") for line in done.stdout.splitlines() if line]


class Replica:
    def __init__(self, plane, index):
        self.plane = plane
        self.port = free_port()
        self.data_dir = os.path.join(plane.work, f"server-{index}")
        self.log_path = os.path.join(plane.work, f"server-{index}.log")
        self.process = None
        self.base = f"https://127.0.0.1:{self.port}"

    def start(self):
        env = dict(os.environ, GPUPOOL_ADMIN_PASSWORD=ADMIN_PASSWORD)
        store = ["--store", self.plane.url] if self.plane.url else []
        self.process = subprocess.Popen(
            [BINARY, "server", *store, "--data-dir", self.data_dir,
             "--listen", f"127.0.0.1:{self.port}", "--public-host", "127.0.0.1",
             "--public-url", self.plane.base, "--tls-cert", self.plane.cert, "--tls-key", self.plane.key,
             "--image", f"{IMAGE_TAG}=gpupool/session:{IMAGE_TAG}", "--session-domain", "sessions.test"],
            stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        while self.readiness() is None:
            assert self.process.poll() is None, "gpupool server exited:\n" + self.log()
            assert time.time() < deadline, "gpupool server did not start:\n" + self.log()
            time.sleep(0.2)

    def readiness(self):
        """/readyz of this server alone: its body, or None when it does not answer."""
        try:
            return Api(self.base, tls_context=self.plane.tls).get("/readyz")[1]
        except OSError:
            return None

    def leads(self):
        ready = self.readiness()
        return bool(ready and isinstance(ready, dict) and ready.get("leads"))

    def jupyter_status(self, session, token):
        """Jupyter's /api/status of `session` through this server alone (its Host header names
        the session's own origin)."""
        url = urllib.parse.urlparse(session["jupyter"]["url"])
        request = urllib.request.Request(f"{self.base}{url.path}api/status",
                                         headers={"Host": url.netloc, "Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.plane.tls) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def pin(self):
        found = re.search(r"--ca-sha256 (sha256:[0-9a-f]{64})", self.log())
        return found.group(1) if found else None

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)

    def log(self):
        with open(self.log_path) as handle:
            return handle.read()[-4000:]


class ControlPlane:
    """`servers` gpupool servers on one PostgreSQL database (or one on SQLite, `url` None)
    behind HAProxy, with `nodes` GPU servers posed by sync_load."""

    def __init__(self, servers=3, postgres=True, nodes=NODES):
        self.work = tempfile.mkdtemp(prefix="gpupool-e2e-replicas-")
        self.database = "gpupool_e2e_" + secrets.token_hex(4)
        self.url = POSTGRES.rsplit("/", 1)[0] + "/" + self.database if postgres else None
        self.node_count = nodes
        self.cert = os.path.join(self.work, "server.crt")
        self.key = os.path.join(self.work, "server.key")
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.replicas = [Replica(self, index) for index in range(servers)]
        self.haproxy = None
        self.agents = None
        self.agent = None  # the real one
        self.real_node = "real-" + secrets.token_hex(3)
        self.tls = None

    def start(self):
        if self.url:
            psql(POSTGRES, f"CREATE DATABASE {self.database}")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        self.tls = ssl.create_default_context(cafile=self.cert)
        for replica in self.replicas:  # one by one: the first makes the admin
            replica.start()
        self.start_haproxy()
        self.admin = Api(self.base, mint_token(self.base, "admin", ADMIN_PASSWORD, self.tls), tls_context=self.tls)
        status, token = self.admin.post("/api/v1/join-tokens",
                                        {"uses": self.node_count + 1, "description": "e2e replicas"})
        self.join_token = token["token"]
        assert status == 201, token
        self.agents = subprocess.Popen(
            [SYNC_LOAD, "--server", self.base, "--cert", self.cert, "--token", token["token"],
             "--nodes", str(self.node_count), "--seconds", "900", "--heartbeat-ms", "2000"],
            stdout=open(os.path.join(self.work, "agents.log"), "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while len(self.nodes()) < self.node_count:
            assert self.agents.poll() is None, "sync_load exited"
            assert time.time() < deadline, "the posed GPU servers did not join"
            time.sleep(0.5)

    def start_haproxy(self):
        config = os.path.join(self.work, "haproxy.cfg")
        # As docs/high-availability.md has it: a server is sent work while its /readyz says 200.
        servers = "\n".join(f"  server s{index} 127.0.0.1:{replica.port} check check-ssl verify none "
                            f"inter 300ms fall 1 rise 2" for index, replica in enumerate(self.replicas))
        with open(config, "w") as handle:
            handle.write(f"""global
  maxconn 4000
defaults
  mode tcp
  timeout connect 2s
  timeout client 10m
  timeout server 10m
  option redispatch
  retries 3
frontend gpupool
  bind 127.0.0.1:{self.port}
  default_backend servers
backend servers
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
{servers}
""")
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", config],
                                        stdout=open(os.path.join(self.work, "haproxy.log"), "w"),
                                        stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                assert time.time() < deadline, "haproxy did not start"
                time.sleep(0.2)

    def start_real_agent(self):
        low, self.port_range_lock = reserve_port_range()
        self.agent = subprocess.Popen(
            [BINARY, "agent", "--server", self.base, "--ca-sha256", self.replicas[0].pin(),
             "--join-token", self.join_token, "--state-dir", os.path.join(self.work, "agent"),
             "--node-name", self.real_node, "--simulate-gpus", "1xA100-80GB", "--node-cpus", "8",
             "--node-memory-gb", "16", "--port-range", f"{low}-{low + 19}", "--node-label",
             f"host={self.real_node}"],
            stdout=open(os.path.join(self.work, "agent.log"), "w"), stderr=subprocess.STDOUT)

    def nodes(self):
        status, body = self.admin.get("/api/v1/nodes")
        return body["nodes"] if status == 200 else []

    def leaders(self):
        return [replica for replica in self.replicas if replica.process.poll() is None and replica.leads()]

    def wait_for_one_leader(self, timeout=30):
        deadline = time.time() + timeout
        while True:
            leaders = self.leaders()
            if len(leaders) == 1:
                return leaders[0]
            assert len(leaders) <= 1, "two servers lead at once"
            assert time.time() < deadline, "no server leads"
            time.sleep(0.05)

    def stop(self):
        if self.agents:
            self.agents.kill()
        if self.agent:
            self.agent.terminate()
            self.agent.wait(timeout=60)
            ids = docker("ps", "-aq", "--filter", f"label=io.gpupool.node={self.real_node}").stdout.split()
            if ids:
                docker("rm", "-f", *ids)
        if self.haproxy:
            self.haproxy.kill()
        for replica in self.replicas:
            replica.stop()
        if self.url:
            psql(POSTGRES, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


@pytest.fixture(scope="module")
def plane():
    if not POSTGRES:
        if os.environ.get("GPUPOOL_REQUIRE_POSTGRES"):
            pytest.fail("GPUPOOL_TEST_POSTGRES is not set")
        pytest.skip("no PostgreSQL server for this run (tests/postgres/start.sh)")
    instance = ControlPlane()
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


def retried(call, timeout=60):
    """`call()` until it answers something other than a connection error or a 5xx: what a
    client does while a server is lost (the requests carry keys, so a retry is safe)."""
    deadline = time.time() + timeout
    while True:
        try:
            status, body = call()
            if status < 500:
                return status, body
        except (OSError, urllib.error.URLError):
            pass
        assert time.time() < deadline, "no server answered"
        time.sleep(0.1)


class Stream:
    """Session requests, stops and top-ups in a loop, each retried with its key until answered."""

    def __init__(self, plane, user, username):
        self.plane, self.user, self.username = plane, user, username
        self.created = []  # ids of sessions requested (each once, whatever the retries)
        self.stopped = set()
        self.top_ups = {}  # key -> micro-credits
        self.running = True
        self.errors = []
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        rng = random.Random(7)
        while self.running:
            try:
                self.step(rng)
            except AssertionError as error:
                self.errors.append(str(error))
            time.sleep(0.2)

    def step(self, rng):
        choice = rng.random()
        active = [s for s in self.created if s not in self.stopped]
        if len(active) >= ACTIVE_AT_MOST:
            choice = 0.6  # a stop
        if choice < 0.5 or not self.created:
            key = secrets.token_hex(8)
            status, body = retried(lambda: self.user.post("/api/v1/sessions", {"gpus": 1},
                                                          headers={"Idempotency-Key": key}))
            assert status in (200, 201), body
            if body["id"] not in self.created:
                self.created.append(body["id"])
        elif choice < 0.8:
            if active:
                victim = rng.choice(active)
                status, body = retried(lambda: self.user.call("DELETE", f"/api/v1/sessions/{victim}"))
                assert status in (200, 409), body
                self.stopped.add(victim)
        else:
            key = "top-up-" + secrets.token_hex(6)
            status, body = retried(lambda: self.plane.admin.post(
                f"/api/v1/users/{self.username}/balance", {"amount": 1.5, "idempotency_key": key}))
            assert status in (200, 201), body
            self.top_ups[key] = 1_500_000

    def stop(self):
        self.running = False
        self.thread.join(timeout=120)


def test_several_servers_one_leader_that_fails_over_and_a_database_restart(plane):
    leader = plane.wait_for_one_leader()
    followers = [replica for replica in plane.replicas if replica is not leader]
    assert not any(replica.leads() for replica in followers)

    status, body = plane.admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 3600})
    assert status == 200, body  # a credit a second: every session that ran costs something
    username = "ha" + secrets.token_hex(3)
    status, body = plane.admin.post("/api/v1/users", {"username": username, "password": "pw-" + username})
    assert status == 201, body
    user = Api(plane.base, mint_token(plane.base, username, "pw-" + username, plane.tls), tls_context=plane.tls)
    status, body = plane.admin.post(f"/api/v1/users/{username}/balance",
                                    {"amount": 1000, "idempotency_key": "first"})
    assert status in (200, 201), body

    # A real session on the real agent; its Jupyter answers through every server.
    plane.start_real_agent()
    deadline = time.time() + 60
    while plane.real_node not in [node["name"] for node in plane.nodes()]:
        assert plane.agent.poll() is None and time.time() < deadline, "the real agent did not join"
        time.sleep(0.5)
    status, real = user.post("/api/v1/sessions", {"gpus": 1, "node_selector": {"host": plane.real_node}})
    assert status == 201, real
    deadline = time.time() + 180
    while real["state"] != "running":
        assert real["state"] != "ended" and time.time() < deadline, f"the real session did not run: {real}"
        time.sleep(0.5)
        real = user.get(f"/api/v1/sessions/{real['id']}")[1]
    assert [replica.jupyter_status(real, user.token) for replica in plane.replicas] == [200] * 3

    # A request made through a follower is placed by the leader at once.
    follower = Api(followers[0].base, user.token, tls_context=plane.tls)
    status, session = follower.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    deadline = time.time() + 10
    while follower.get(f"/api/v1/sessions/{session['id']}")[1]["state"] == "queued":
        assert time.time() < deadline, "the leader did not place a follower's request"
        time.sleep(0.05)

    stream = Stream(plane, user, username)
    time.sleep(4)
    killed_at = time.time()
    leader.kill()
    new_leader = plane.wait_for_one_leader(timeout=15)
    took_over = time.time() - killed_at
    assert new_leader is not leader
    # The first placement by the new leader: a request made now leaves the queue.
    status, fresh = retried(lambda: user.post("/api/v1/sessions", {"gpus": 1}))
    assert status == 201, fresh
    stream.created.append(fresh["id"])
    while retried(lambda: user.get(f"/api/v1/sessions/{fresh['id']}"))[1]["state"] == "queued":
        assert time.time() < killed_at + 30, "the new leader placed nothing"
        time.sleep(0.05)
    print(f"failover: lead taken {took_over:.2f} s after the kill, "
          f"first placement {time.time() - killed_at:.2f} s after it")
    live = [replica for replica in plane.replicas if replica is not leader]
    assert [replica.jupyter_status(real, user.token) for replica in live] == [200, 200]
    leader.start()  # back as a follower
    assert not leader.leads()

    time.sleep(3)
    running_before = {s["id"] for s in retried(lambda: user.get("/api/v1/sessions"))[1]["sessions"]
                      if s["state"] == "running"}
    restarted = subprocess.run(["bash", START_POSTGRES, "restart"], capture_output=True, text=True)
    assert restarted.returncode == 0, restarted.stderr
    # Every server answers again by itself, one of them leading.
    deadline = time.time() + 30
    while not all(replica.readiness() == {"status": "ready", "leads": replica.leads()}
                  for replica in plane.replicas):
        assert time.time() < deadline, "a server did not recover from the database's restart"
        time.sleep(0.2)
    plane.wait_for_one_leader()
    assert [replica.jupyter_status(real, user.token) for replica in plane.replicas] == [200] * 3
    time.sleep(4)
    stream.stop()
    assert not stream.errors, stream.errors[:5]

    # Settled: whatever was asked for and not stopped runs (there is room for it all), what
    # was stopped has ended, and nothing was lost.
    capacity = NODES * GPUS_PER_NODE
    wanted = [s for s in stream.created if s not in stream.stopped]
    assert len(wanted) <= capacity, "the stream asked for more than fits: the check would be weak"
    deadline = time.time() + 60
    while True:
        sessions = {s["id"]: s for s in retried(lambda: plane.admin.get("/api/v1/sessions?all=true"))[1]["sessions"]}
        states = {sid: sessions.get(sid, {}).get("state") for sid in stream.created}
        if all(states[sid] == "running" for sid in wanted) and \
                all(states[sid] == "ended" for sid in stream.stopped):
            break
        assert time.time() < deadline, f"sessions did not settle: {states}"
        time.sleep(0.5)
    assert running_before - stream.stopped <= {sid for sid, s in sessions.items() if s["state"] == "running"}, \
        "a running session noticed the database's restart"

    # No GPU placed twice: the database's own record of what holds which GPU.
    held = psql(plane.url, "SELECT node, gpu_indices FROM sessions WHERE state NOT IN ('ended', 'queued')")
    seen = set()
    for node, indices in held:
        for index in indices.strip("[]").split(","):
            if index:
                assert (node, index) not in seen, f"GPU {index} of {node} placed twice"
                seen.add((node, index))
    # Requests with a key made one session each; every stopped session is charged once.
    assert len(psql(plane.url, f"SELECT id FROM sessions WHERE user_id = (SELECT id FROM users WHERE "
                               f"username = '{username}')")) == len(set(stream.created)) + 2  # + the real and the first
    charges = dict(psql(plane.url, "SELECT session_id, count(*) FROM ledger WHERE kind = 'charge' "
                                   "GROUP BY session_id"))
    assert all(count == "1" for count in charges.values())
    # Metered by the second: each session that ran a second or more is charged, once.
    uncharged = psql(plane.url, "SELECT id FROM sessions s WHERE state = 'ended' AND started_at > 0 AND "
                                "ended_at - started_at >= 1000 AND NOT EXISTS (SELECT 1 FROM ledger l WHERE "
                                "l.kind = 'charge' AND l.session_id = s.id)")
    assert not uncharged, f"ended sessions never charged: {uncharged}"
    assert len(charges) >= len(stream.stopped) // 2, "most stopped sessions ran long enough to cost"
    # Each top-up written once, and the balance is what the ledger adds up to.
    for key, micros in stream.top_ups.items():
        assert psql(plane.url, f"SELECT amount_micros FROM ledger WHERE idempotency_key = '{key}'") == \
            [[str(micros)]], key
    status, balance = user.get("/api/v1/balance")
    assert status == 200, balance
    total = int(psql(plane.url, f"SELECT sum(amount_micros) FROM ledger WHERE user_id = (SELECT id FROM "
                                f"users WHERE username = '{username}')")[0][0])
    assert round(balance["ledger_total"] * 1_000_000) == total
    print(f"stream: {len(stream.created)} requests, {len(stream.stopped)} stops, "
          f"{len(stream.top_ups)} top-ups; {len(charges)} charges")
