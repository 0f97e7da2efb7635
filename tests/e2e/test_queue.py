"""A queued session starts by itself when another one ends; a retried request makes one session."""
from conftest import docker, wait_for_state


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


def test_a_retried_request_with_its_idempotency_key_makes_one_session(server, make_user):
    """A client that lost the answer sends the request again with the same key: one session,
    one container."""
    name, user = make_user("ivy")
    key = {"Idempotency-Key": "ivy-retry-" + name}
    statuses, ids = [], []
    for _ in range(3):
        status, session = user.post("/api/v1/sessions", {"gpus": 1}, headers=key)
        statuses.append(status)
        ids.append(session["id"])
    assert statuses == [201, 200, 200] and len(set(ids)) == 1, (statuses, ids)
    status, other = user.post("/api/v1/sessions", {"gpus": 2}, headers=key)
    assert status == 409, other
    wait_for_state(user, ids[0], {"running"})
    status, listed = user.get("/api/v1/sessions")
    assert [session["id"] for session in listed["sessions"]] == [ids[0]]
    containers = docker("ps", "-q", "--filter", f"label=io.gpupool.user={name}").stdout.split()
    assert len(containers) == 1, containers
    user.call("DELETE", f"/api/v1/sessions/{ids[0]}")
    wait_for_state(user, ids[0], {"ended"}, timeout=60)
