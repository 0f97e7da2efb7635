"""Idle reclaim with real sessions: a CPU loop in a Jupyter kernel, an open SSH login and a busy
(simulated) GPU each keep a session, while one nobody uses is warned, kept once by its owner,
warned again and reclaimed, its home kept. The policy is seconds long here so that the test
runs in about a minute; its rules at hours-long scales are unit-tested with simulated time."""
import hashlib
import hmac
import http.server
import json
import os
import secrets
import threading
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import (ADMIN_PASSWORD, SSH_OPTIONS, Api, Server, docker, mint_token, remove_containers,
                      run_in_kernel, wait_for_state)
from test_browser import BROWSER_TESTS, SCREENSHOTS, run_to_end

WINDOW_S, GRACE_S = 20, 12

# A thread that keeps one core busy for two minutes; the kernel itself goes back to idle.
SPIN_IN_KERNEL = """
import threading, time
def spin():
    end = time.time() + 120
    while time.time() < end:
        pass
threading.Thread(target=spin, daemon=True).start()
print("spinning")
"""


@pytest.fixture(scope="module")
def pool():
    work = tempfile.mkdtemp(prefix="gpupool-e2e-idle-")
    readings = os.path.join(work, "gpu-readings.json")
    server = Server(extra_args=["--idle-window", f"{WINDOW_S}s", "--idle-grace", f"{GRACE_S}s",
                                "--idle-keeps", "1", "--activity-interval", "2",
                                "--simulated-gpu-readings", readings, "--webhook-allow", "127.0.0.0/8"])
    server.start()
    admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
    key = os.path.join(work, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    with open(key + ".pub") as handle:
        public_key = handle.read().strip()
    users = []

    def user(prefix):
        name, password = prefix + secrets.token_hex(3), "pw-" + secrets.token_hex(8)
        assert admin.post("/api/v1/users", {"username": name, "password": password})[0] == 201
        api = Api(server.base, mint_token(server.base, name, password))
        api.password = password
        assert api.call("PUT", "/api/v1/me/ssh-keys", {"keys": [public_key]})[0] == 200
        users.append(name)
        return name, api

    yield server, admin, user, key, readings
    server.stop()
    remove_containers(server)
    for name in users:
        docker("volume", "rm", "-f", "gpupool-home-" + name)
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(server.data_dir, ignore_errors=True)


def start(api, body):
    status, session = api.post("/api/v1/sessions", {"cpus": 0.5, "memory_gb": 1, **body})
    assert status == 201, session
    return session["id"]


def view(api, session_id):
    status, body = api.get(f"/api/v1/sessions/{session_id}")
    assert status == 200, body
    return body


def wait_until(what, check, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_busy_sessions_stay_and_an_unused_one_is_warned_kept_and_reclaimed(pool):
    server, admin, user, key, readings = pool
    idle_name, idle_api = user("idle")
    kernel_name, kernel_api = user("kernel")
    ssh_name, ssh_api = user("sshuser")
    gpu_name, gpu_api = user("gpu")
    idle_id = start(idle_api, {"gpus": 1})
    kernel_id = start(kernel_api, {"gpu_memory_gb": 1})
    ssh_id = start(ssh_api, {"gpu_memory_gb": 1})
    gpu_id = start(gpu_api, {"gpus": 1})
    sessions = {idle_id: idle_api, kernel_id: kernel_api, ssh_id: ssh_api, gpu_id: gpu_api}
    running = {sid: wait_for_state(api, sid, {"running"}) for sid, api in sessions.items()}

    # The signals: a busy thread in a kernel, an SSH login that does nothing, a busy GPU.
    assert "spinning" in run_in_kernel(running[kernel_id], SPIN_IN_KERNEL, kernel_api)
    info = running[ssh_id]["ssh"]
    login = subprocess.Popen(["ssh", *SSH_OPTIONS, "-o", "BatchMode=yes", "-i", key, "-p", str(info["port"]),
                              f"{info['user']}@{info['host']}", "sleep 120"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gpu_index = running[gpu_id]["gpus"]["indices"][0]
    with open(readings + ".tmp", "w") as handle:
        json.dump({"gpus": [{"index": gpu_index, "utilization_percent": 90}]}, handle)
    os.replace(readings + ".tmp", readings)
    try:
        # What the nodes measured, as each owner sees it.
        def signals(api, sid):
            idle = view(api, sid)["idle"]
            return idle and idle["signals"]
        kernel = wait_until("the kernel's CPU use", lambda: (s := signals(kernel_api, kernel_id))
                            and s["cpu_cores"] is not None and s["cpu_cores"] >= 0.5 and s, 30)
        assert kernel["kernels"] == 1 and kernel["ssh_connections"] == 0, kernel
        wait_until("the SSH connection", lambda: (s := signals(ssh_api, ssh_id)) and s["ssh_connections"] == 1, 30)
        wait_until("the GPU's use", lambda: (s := signals(gpu_api, gpu_id))
                   and s["gpu_utilization_percent"] == 90, 30)
        quiet = signals(idle_api, idle_id)
        assert quiet["cpu_cores"] < 0.1 and quiet["ssh_connections"] == 0 and quiet["busy_kernels"] == 0, quiet
        assert view(idle_api, idle_id)["idle"]["policy"] == {
            "window_seconds": WINDOW_S, "grace_seconds": GRACE_S, "keeps": 1, "exempt": False}

        # Unused for the window: warned, with when it goes and how to keep it.
        warned = wait_until("the warning", lambda: (v := view(idle_api, idle_id))["idle"]["warned_at"] and v,
                            WINDOW_S + 20)
        assert "will be reclaimed" in warned["warning"] and f"gpupool keep {idle_id}" in warned["warning"]
        assert warned["idle"]["reclaim_at"] is not None

        # Its owner keeps it once: the warning goes, the window starts again; a second time is refused.
        status, kept = idle_api.post(f"/api/v1/sessions/{idle_id}/keep")
        assert status == 200 and kept["idle"]["warned_at"] is None and kept["idle"]["keeps_left"] == 0, kept
        assert kept["warning"] is None
        status, refused = idle_api.post(f"/api/v1/sessions/{idle_id}/keep")
        assert status == 409 and "the most its idle policy allows" in refused["error"]["message"], refused
        # Nobody else can keep it: another user's session does not exist for them.
        assert kernel_api.post(f"/api/v1/sessions/{idle_id}/keep")[0] == 404

        wait_until("the second warning", lambda: view(idle_api, idle_id)["idle"]["warned_at"], WINDOW_S + 20)
        ended = wait_for_state(idle_api, idle_id, {"ended"}, timeout=GRACE_S + 30)
        assert ended["end_reason"] == "idle_reclaimed", ended
        assert "no GPU, CPU, notebook or SSH activity" in ended["reason"], ended
        # The home stays for the next session.
        assert docker("volume", "inspect", "gpupool-home-" + idle_name).returncode == 0

        # Every busy one is still running, never warned.
        for sid in (kernel_id, ssh_id, gpu_id):
            current = view(sessions[sid], sid)
            assert current["state"] == "running", current
            assert current["idle"]["warned_at"] is None and current["warning"] is None, current
    finally:
        login.kill()
        for sid, api in sessions.items():
            api.call("DELETE", f"/api/v1/sessions/{sid}")


def test_the_owner_sees_the_warning_in_the_portal_and_keeps_the_session(pool):
    server, admin, user, key, readings = pool
    name, api = user("portal")
    # The server's window, but five minutes' grace: the browser has time to start and click.
    assert admin.call("PUT", f"/api/v1/idle-policies/user/{name}", {"grace_minutes": 5})[0] == 200
    session_id = start(api, {"gpu_memory_gb": 1})
    wait_for_state(api, session_id, {"running"})
    try:
        wait_until("the warning", lambda: view(api, session_id)["idle"]["warned_at"], WINDOW_S + 20)
        returncode, output = run_to_end(["node", "idle.mjs", server.base, name, api.password, session_id,
                                         SCREENSHOTS], BROWSER_TESTS, timeout=330)
        assert returncode == 0 and "idle: ok" in output, output
        kept = view(api, session_id)
        assert kept["idle"]["keeps_used"] == 1 and kept["state"] == "running", kept
    finally:
        api.call("DELETE", f"/api/v1/sessions/{session_id}")


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that fails its first posting (500), then takes them all."""
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(500 if len(Receiver.received) == 1 else 204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_owner_is_told_by_webhook_signed_and_retried_and_in_the_api(pool):
    server, admin, user, key, readings = pool
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    name, api = user("hooked")
    refused = api.call("PUT", "/api/v1/me/webhook", {"url": "http://169.254.169.254/latest/meta-data"})
    assert refused[0] == 403 and "--webhook-allow" in refused[1]["error"]["message"], refused
    status, hook = api.call("PUT", "/api/v1/me/webhook",
                            {"url": f"http://127.0.0.1:{receiver.server_port}/gpupool?team=a"})
    assert status == 200 and len(hook["secret"]) == 43, hook
    session_id = start(api, {"gpu_memory_gb": 1})
    try:
        wait_for_state(api, session_id, {"running"})
        # Warned: the first posting is answered 500 and tried again 10 s later.
        wait_until("the warning, posted twice", lambda: len(Receiver.received) >= 2, WINDOW_S + 40)
        first, second = Receiver.received[0], Receiver.received[1]
        assert first[1] == second[1], "the same notification again"
        for headers, body in (first, second):
            signature = hmac.new(hook["secret"].encode(), headers["X-Gpupool-Timestamp"].encode() + b"." + body,
                                 hashlib.sha256).hexdigest()
            assert headers["X-Gpupool-Signature"] == "sha256=" + signature
        notice = json.loads(second[1])
        assert notice["kind"] == "idle_warning" and notice["user"] == name and notice["session"] == session_id
        assert "will be reclaimed at" in notice["message"]

        # The same in the API, unread until read.
        listed = api.get("/api/v1/notifications")[1]
        assert listed["unread"] >= 1 and listed["notifications"][0]["kind"] == "idle_warning", listed
        assert api.post("/api/v1/notifications/read", {"up_to": listed["notifications"][0]["id"]})[1]["unread"] == 0

        # An admin stops it: its owner is told why it ended.
        assert admin.call("DELETE", f"/api/v1/sessions/{session_id}")[0] in (200, 202)
        wait_until("the end, posted", lambda: any(json.loads(body)["kind"] == "session_ended"
                                                  for _, body in Receiver.received), 60)
        ended = next(json.loads(body) for _, body in Receiver.received if json.loads(body)["kind"] == "session_ended")
        assert ended["data"]["end_reason"] == "admin_stopped", ended
    finally:
        api.call("DELETE", f"/api/v1/sessions/{session_id}")
        receiver.shutdown()


def test_a_share_whose_processes_get_around_the_cap_is_stopped_by_the_drivers_count(pool):
    """The backstop behind the GPU-memory cap (docs/gpu.md): what the driver counts for the
    session's processes, past its share and the slack for 10 s, stops it."""
    server, admin, user, key, readings = pool
    name, api = user("overrun")
    within_id = start(api, {"gpu_memory_gb": 1})
    over_id = start(api, {"gpu_memory_gb": 1})
    try:
        within = wait_for_state(api, within_id, {"running"})
        over = wait_for_state(api, over_id, {"running"})
        gpus = {}
        for session, used_mb in ((within, 1024 + 1536), (over, 1024 + 1536 + 700)):
            pid = int(docker("inspect", "-f", "{{.State.Pid}}", "gpupool-" + session["id"]).stdout.strip())
            gpu = gpus.setdefault(session["gpus"]["indices"][0], {"processes": []})
            gpu["processes"].append({"pid": pid, "memory_used_mb": used_mb, "utilization_percent": 30})
        with open(readings + ".tmp", "w") as handle:
            json.dump({"gpus": [{"index": index, **gpu} for index, gpu in gpus.items()]}, handle)
        os.replace(readings + ".tmp", readings)

        ended = wait_for_state(api, over_id, {"ended"}, timeout=60)
        assert ended["end_reason"] == "gpu_share_exceeded", ended
        assert "used 3.2 GB of GPU" in ended["reason"] and "share of 1.0 GB" in ended["reason"], ended
        notices = api.get("/api/v1/notifications")[1]["notifications"]
        assert any(notice["kind"] == "session_ended" and notice["session"] == over_id for notice in notices), notices
        # Its neighbour, at its share and the whole slack, runs on.
        assert view(api, within_id)["state"] == "running"
    finally:
        with open(readings + ".tmp", "w") as handle:
            json.dump({"gpus": []}, handle)
        os.replace(readings + ".tmp", readings)
        for sid in (within_id, over_id):
            api.call("DELETE", f"/api/v1/sessions/{sid}")
