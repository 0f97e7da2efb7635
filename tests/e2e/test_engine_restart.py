"""Restarting the container engine under running sessions: they come back in the same
containers (home, host key and address kept; processes and /tmp gone), their owners are told,
the time they were down is not billed, and a key removed before the restart stays refused.

This restarts the host's Docker engine, so CTest runs it alone (RUN_SERIAL)."""
import os
import shutil
import subprocess
import tempfile
import time

from conftest import docker, request_sessions, restart_engine, run_in_kernel, seconds_of, ssh, wait_for_state


def wait_until_back(api, session_id, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, body = api.get(f"/api/v1/sessions/{session_id}")
        assert status == 200, body
        assert body["state"] == "running", body
        if body["restarts"]["count"] >= 1 and body["restarts"]["down_since"] is None:
            return body
        time.sleep(0.25)
    raise AssertionError(f"session {session_id} did not come back: {body}")


def test_sessions_come_back_after_an_engine_restart_and_their_downtime_is_not_billed(
        server, make_user, key_pair):
    key_path, public_key = key_pair
    other_dir = tempfile.mkdtemp(prefix="gpupool-e2e-key-")
    other_key = os.path.join(other_dir, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other_key], check=True)
    with open(other_key + ".pub") as handle:
        other_public = handle.read().strip()

    _, erin = make_user("erin")
    assert erin.call("PUT", "/api/v1/me/ssh-keys", {"keys": [public_key, other_public]})[0] == 200
    ids = request_sessions(erin, 2)
    before = {session_id: wait_for_state(erin, session_id, {"running"}) for session_id in ids}
    first = before[ids[0]]
    # The init that empties /tmp runs as root: links the user plants there must lead it nowhere.
    run_in_kernel(first, "import os; open('/tmp/scratch', 'w').write('x'); open('kept.txt', 'w').write('home'); "
                         "os.symlink(os.getcwd(), '/tmp/to-home'); os.makedirs('/tmp/deep'); "
                         "os.symlink('/etc/gpupool', '/tmp/deep/to-etc')", erin)
    # The key is removed while the container runs; the container's first start had it in its
    # environment, so a restart must not bring it back.
    assert erin.call("PUT", "/api/v1/me/ssh-keys", {"keys": [public_key]})[0] == 200
    deadline = time.time() + 30
    while ssh(first, other_key, "true").returncode == 0:
        assert time.time() < deadline, "the removed key still works"
        time.sleep(0.5)

    engine_stopped = time.time()
    restart_engine()
    engine_back = time.time()
    after = {session_id: wait_until_back(erin, session_id) for session_id in ids}
    checked = time.time()

    for session_id in ids:
        was, now = before[session_id], after[session_id]
        assert now["started_at"] == was["started_at"], "the same session goes on"
        assert now["ssh"]["host_key"] == was["ssh"]["host_key"], "the same container, the same host key"
        assert now["jupyter"]["url"] == was["jupyter"]["url"]
        assert "its container restarted at" in now["reason"] and "/tmp were lost" in now["reason"], now
        assert now["restarts"]["count"] == 1
        unbilled = now["restarts"]["unbilled_seconds"]
        # Down from the moment the engine stopped the container until Jupyter answered again.
        assert unbilled >= engine_back - engine_stopped - 2, (unbilled, engine_back - engine_stopped)
        assert unbilled <= checked - engine_stopped + 2, (unbilled, checked - engine_stopped)
        wall = time.time() - seconds_of(now["started_at"])
        assert abs(now["cost"]["billed_seconds"] - (wall - unbilled)) <= 3, (now["cost"], wall, unbilled)

    back = after[ids[0]]
    output = run_in_kernel(back, "import os; print(os.path.exists('/tmp/scratch'), os.path.lexists('/tmp/to-home'), "
                                 "open('kept.txt').read())", erin)
    assert output.split() == ["False", "False", "home"], "/tmp is emptied, through no link: the home is kept"
    motd = ssh(back, key_path, "cat /etc/motd")
    assert motd.returncode == 0, motd.stderr
    assert "restarted" in motd.stdout and "your home was kept" in motd.stdout, motd.stdout
    assert ssh(back, other_key, "true").returncode == 255, "a key removed before the restart stays refused"

    containers = docker("ps", "-aq", "--filter", f"label=io.gpupool.node={server.node}").stdout.split()
    assert len(containers) == len(ids), "the same containers, none added"
    for session_id in ids:
        assert erin.call("DELETE", f"/api/v1/sessions/{session_id}")[0] == 200
    for session_id in ids:
        ended = wait_for_state(erin, session_id, {"ended"}, timeout=60)
        assert ended["restarts"]["unbilled_seconds"] == after[session_id]["restarts"]["unbilled_seconds"]
    shutil.rmtree(other_dir, ignore_errors=True)
