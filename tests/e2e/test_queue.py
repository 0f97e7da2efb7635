"""A queued session starts by itself when another one ends."""
from conftest import wait_for_state


def test_queued_session_starts_when_gpus_free_up(server, make_user):
    _, frank = make_user("frank")
    status, pool = frank.get("/api/v1/pool")
    free = pool["gpu_models"][0]["free"]
    assert free == 4, pool

    status, big = frank.post("/api/v1/sessions", {"gpus": 4})
    assert status == 201, big
    status, waiting = frank.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, waiting
    assert waiting["state"] == "queued"
    assert waiting["reason"] == "waiting for 1 free GPU on one node; position 1"
    assert frank.get("/api/v1/pool")[1]["queue_length"] == 1

    wait_for_state(frank, big["id"], {"running"})
    frank.call("DELETE", f"/api/v1/sessions/{big['id']}")
    started = wait_for_state(frank, waiting["id"], {"running"})
    assert started["node"] == server.node
    assert wait_for_state(frank, big["id"], {"ended"})["end_reason"] == "user_stopped"

    frank.call("DELETE", f"/api/v1/sessions/{waiting['id']}")
    wait_for_state(frank, waiting["id"], {"ended"}, timeout=60)


def test_node_selector_matches_the_agents_labels(server, make_user):
    _, ivy = make_user("ivy")
    status, pool = ivy.get("/api/v1/pool")
    assert pool["nodes"][0]["labels"] == {"zone": "e2e"}
    assert ivy.post("/api/v1/sessions", {"gpus": 1, "node_selector": {"zone": "elsewhere"}})[0] == 400
    status, session = ivy.post("/api/v1/sessions", {"gpus": 1, "node_selector": {"zone": "e2e"}})
    assert status == 201, session
    assert session["node"] == server.node
    ivy.call("DELETE", f"/api/v1/sessions/{session['id']}")
    wait_for_state(ivy, session["id"], {"ended"}, timeout=60)
