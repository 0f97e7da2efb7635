"""Restarting `gpupool up` keeps running sessions and ends those whose containers vanished."""
import signal

from conftest import docker, request_sessions, wait_for_state


def test_kill_9_then_restart_keeps_running_sessions_and_ends_vanished_ones(server, make_user):
    _, dana = make_user("dana")
    sessions = request_sessions(dana, 2)
    kept, vanished = [wait_for_state(dana, session_id, {"running"}) for session_id in sessions]

    server.stop(signal.SIGKILL)
    assert docker("inspect", f"gpupool-{kept['id']}").returncode == 0, "containers outlive the server"
    docker("rm", "-f", f"gpupool-{vanished['id']}")
    server.start()

    survivor = wait_for_state(dana, kept["id"], {"running"})
    assert survivor["jupyter"]["url"] == kept["jupyter"]["url"]
    assert survivor["ssh"]["host_key"] == kept["ssh"]["host_key"]
    gone = wait_for_state(dana, vanished["id"], {"ended"}, timeout=30)
    assert gone["end_reason"] == "failed"
    assert "disappeared" in gone["reason"]
    status, pool = dana.get("/api/v1/pool")
    assert pool["gpu_models"][0]["free"] == pool["gpu_models"][0]["total"] - 1, "no GPU double-booked or leaked"

    # SIGTERM is a clean shutdown (exit 0) that leaves sessions running too.
    assert server.stop(signal.SIGTERM) == 0
    server.start()
    assert wait_for_state(dana, kept["id"], {"running"})["started_at"] == kept["started_at"]

    dana.call("DELETE", f"/api/v1/sessions/{kept['id']}")
    wait_for_state(dana, kept["id"], {"ended"}, timeout=60)
