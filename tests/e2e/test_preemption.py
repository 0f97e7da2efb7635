"""A preemptible session makes room for a non-preemptible one after its grace period."""
from conftest import wait_for_state


def test_preemptible_session_is_stopped_to_make_room(server, make_user):
    _, gina = make_user("gina")
    _, hank = make_user("hank")
    status, cheap = gina.post("/api/v1/sessions", {"gpus": 4, "preemptible": True})
    assert status == 201, cheap
    assert cheap["preemptible"] is True
    wait_for_state(gina, cheap["id"], {"running"})

    status, urgent = hank.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, urgent
    assert urgent["state"] == "queued"
    warned = gina.get(f"/api/v1/sessions/{cheap['id']}")[1]
    assert "will be stopped at" in (warned["warning"] or "")

    ended = wait_for_state(gina, cheap["id"], {"ended"}, timeout=60)
    assert ended["end_reason"] == "preempted"
    wait_for_state(hank, urgent["id"], {"running"})
    hank.call("DELETE", f"/api/v1/sessions/{urgent['id']}")
    wait_for_state(hank, urgent["id"], {"ended"}, timeout=60)
