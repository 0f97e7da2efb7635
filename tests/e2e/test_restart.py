"""Restarting `gpupool up` keeps running sessions and ends those whose containers vanished."""
from conftest import docker, wait_for_state


def test_restart_keeps_running_sessions_and_ends_vanished_ones(server, make_user):
    _, dana = make_user("dana")
    sessions = []
    for _ in range(2):
        status, session = dana.post("/api/v1/sessions", {"gpus": 1})
        assert status == 201, session
        sessions.append(session["id"])
    kept, vanished = [wait_for_state(dana, session_id, {"running"}) for session_id in sessions]

    server.stop()
    assert docker("inspect", f"gpupool-{kept['id']}").returncode == 0, "containers outlive the server"
    docker("rm", "-f", f"gpupool-{vanished['id']}")
    server.start()

    survivor = wait_for_state(dana, kept["id"], {"running"})
    assert survivor["jupyter"]["url"] == kept["jupyter"]["url"]
    gone = wait_for_state(dana, vanished["id"], {"ended"}, timeout=30)
    assert gone["end_reason"] == "failed"
    assert "disappeared" in gone["reason"]

    dana.call("DELETE", f"/api/v1/sessions/{kept['id']}")
    wait_for_state(dana, kept["id"], {"ended"}, timeout=60)
