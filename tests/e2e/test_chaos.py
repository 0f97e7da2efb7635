"""A bounded chaos run: 20 sessions running and clients hammering the API and the proxy, then
`kill -9` of the server and a restart, a restart of the Docker engine, and the data directory
brought to its watermark. Afterwards every session is in the right state, every bill matches
its container's run time by the engine's own record, each is charged once, and no container,
network, port or GPU is left behind.

It restarts the host's Docker engine, so CTest runs it alone (RUN_SERIAL)."""
import json
import os
import secrets
import signal
import sqlite3
import tempfile
import threading
import time
import urllib.error
import urllib.request

from conftest import (ADMIN_PASSWORD, Api, Server, docker, fill, mint_token, remove_containers, request_sessions,
                      restart_engine, seconds_of)

SESSIONS = 20
RESERVE_MB = 24


class Hammer:
    """Calls `request` in a loop on a thread of its own, keeping (time, ok) for each call."""

    def __init__(self, request):
        self.request = request
        self.results = []
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while self.running:
            try:
                ok = self.request()
            except (OSError, urllib.error.URLError, ValueError):
                ok = False
            self.results.append((time.time(), ok))
            time.sleep(0.05)

    def stop(self):
        self.running = False
        self.thread.join(timeout=60)

    def failures_within(self, start, end):
        calls = [ok for at, ok in self.results if start <= at <= end]
        return calls.count(False), len(calls)


def status_of(url, token):
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def all_sessions(api, ids):
    status, body = api.get("/api/v1/sessions")
    assert status == 200, body
    return {session["id"]: session for session in body["sessions"] if session["id"] in ids}


def wait_for_all(api, ids, done, what, timeout=420):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            sessions = all_sessions(api, ids)
        except (OSError, urllib.error.URLError):
            sessions = {}
        if len(sessions) == len(ids) and all(done(session) for session in sessions.values()):
            return sessions
        time.sleep(0.5)
    raise AssertionError(f"not every session {what}: " + json.dumps(sessions, indent=1)[:3000])


def engine_stop_time(session_id):
    """When the engine last stopped the session's container, by its own record."""
    inspected = docker("inspect", "--format", "{{json .State}}", f"gpupool-{session_id}")
    assert inspected.returncode == 0, inspected.stderr
    return seconds_of(json.loads(inspected.stdout)["FinishedAt"][:26].rstrip("Z") + "+00:00")


def test_sessions_bills_and_resources_survive_kill_9_an_engine_restart_and_a_full_disk(small_disk):
    server = Server(extra_args=["--min-free-disk-mb", str(RESERVE_MB), "--postpaid"])
    server.data_dir = small_disk
    server.log_path = tempfile.mktemp(prefix="gpupool-chaos-log-")
    server.start()
    hammers = []
    try:
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
        assert admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 36})[0] == 200
        name, password = "chaos" + secrets.token_hex(3), "pw-" + secrets.token_hex(8)
        assert admin.post("/api/v1/users", {"username": name, "password": password})[0] == 201
        user = Api(server.base, mint_token(server.base, name, password))
        ids = request_sessions(user, SESSIONS, {"gpu_memory_gb": 10, "cpus": 0.5, "memory_gb": 1})
        before = wait_for_all(user, ids, lambda s: s["state"] == "running", "started")

        urls = [before[session_id]["jupyter"]["url"] + "api/status" for session_id in ids]
        turn = iter(range(10 ** 9))
        hammers = [
            Hammer(lambda: user.get("/api/v1/sessions")[0] == 200),
            Hammer(lambda: status_of(urls[next(turn) % len(urls)], user.token) == 200),
        ]
        time.sleep(3)
        quiet = [(time.time() - 3, time.time())]

        # 1. kill -9 the server under load; the containers and their meters carry on.
        server.stop(signal.SIGKILL)
        time.sleep(1)
        server.start()
        back = wait_for_all(user, ids, lambda s: s["state"] == "running", "came back after kill -9", 60)
        assert all(back[i]["started_at"] == before[i]["started_at"] for i in ids)
        quiet_start = time.time()
        time.sleep(3)
        quiet.append((quiet_start, time.time()))

        # 2. Restart the engine: every container stops and is started again in place.
        restart_engine()
        restarted = wait_for_all(user, ids, lambda s: s["restarts"]["count"] == 1 and s["restarts"]["down_since"] is None,
                                 "came back after the engine restart")
        assert all(session["state"] == "running" for session in restarted.values())
        stopped_by_engine = {session_id: engine_stop_time(session_id) for session_id in ids}
        quiet_start = time.time()
        time.sleep(3)
        quiet.append((quiet_start, time.time()))

        # 3. The data directory at its watermark: new sessions wait, running ones go on.
        filler = fill(small_disk, RESERVE_MB - 8)
        status, refused = user.post("/api/v1/sessions", {"gpu_memory_gb": 10})
        assert status == 503 and "data disk is nearly full" in refused["error"]["message"], refused
        quiet_start = time.time()
        time.sleep(3)
        quiet.append((quiet_start, time.time()))
        os.remove(filler)

        for hammer in hammers:
            hammer.stop()
        for start, end in quiet:
            for hammer in hammers:
                failed, calls = hammer.failures_within(start, end)
                assert calls > 0 and failed == 0, (start, end, failed, calls)

        for session_id in ids:
            assert user.call("DELETE", f"/api/v1/sessions/{session_id}")[0] == 200
        ended = wait_for_all(user, ids, lambda s: s["state"] == "ended", "ended", 120)

        for session_id in ids:
            session = ended[session_id]
            assert session["end_reason"] == "user_stopped", session
            # Billed while Jupyter answered: from its start to the engine's stop, and from its
            # return to its end — not the time the engine was down.
            expected = (stopped_by_engine[session_id] - seconds_of(session["started_at"])) + \
                (seconds_of(session["ended_at"]) - seconds_of(session["restarts"]["last_at"]))
            assert abs(session["cost"]["billed_seconds"] - expected) <= 2, (session, expected)

        status, balance = user.get("/api/v1/balance")
        charges = [entry for entry in balance["entries"] if entry["kind"] == "charge"]
        assert sorted(entry["session"] for entry in charges) == sorted(ids), "each charged exactly once"
        for entry in charges:
            assert abs(-entry["amount"] - ended[entry["session"]]["cost"]["so_far"]) < 1e-6, entry

        # Nothing leaked: containers, networks, GPUs.
        assert docker("ps", "-aq", "--filter", f"label=io.gpupool.node={server.node}").stdout.split() == []
        networks = docker("network", "ls", "-q", "--filter", f"label=io.gpupool.node={server.node}")
        assert networks.stdout.split() == [], networks.stdout
        status, pool = admin.get("/api/v1/pool")
        assert all(model["free"] == model["total"] for model in pool["gpu_models"]), pool
        status, later = user.post("/api/v1/sessions", {"gpus": 4})
        assert status == 201, later
        user.call("DELETE", f"/api/v1/sessions/{later['id']}")
    finally:
        for hammer in hammers:
            hammer.stop()
        assert server.stop() == 0
        remove_containers(server)
        print(server.log())
    with sqlite3.connect(os.path.join(small_disk, "gpupool.db")) as database:
        assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
