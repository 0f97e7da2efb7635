"""What the GPUs are doing, for admins, from a real `gpupool up` on simulated GPUs: the nodes
view with each GPU's holder and readings, and the live view that carries them."""
import time
import urllib.error
import urllib.request

from conftest import ADMIN_PASSWORD, Api
from test_live_view import EventReader
from test_proxy import login


def our_node(nodes, server):
    return next(node for node in nodes["nodes"] if node["name"] == server.node)


def test_admins_see_each_gpu_its_readings_and_who_holds_it(server, admin, make_user):
    name, api = make_user("gpus")
    assert api.get("/api/v1/nodes")[0] == 403
    assert Api(server.base).get("/api/v1/nodes")[0] == 401

    status, nodes = admin.get("/api/v1/nodes")
    assert status == 200, nodes
    node = our_node(nodes, server)
    assert node["state"] == "ready" and node["simulated"] is True
    assert node["telemetry_at"] is not None
    assert [gpu["index"] for gpu in node["gpus"]] == [0, 1, 2, 3]
    for gpu in node["gpus"]:
        # Simulated GPUs run nothing, and read as idle A100s.
        assert gpu["model"] == "A100-80GB" and gpu["simulated"] is True
        assert gpu["utilization_percent"] == 0 and gpu["memory_used_gb"] == 0
        assert 25 <= gpu["temperature_c"] <= 40
        assert gpu["power_limit_w"] == 400 and 0 < gpu["power_w"] < 100

    status, session = api.post("/api/v1/sessions", {"gpus": 2})
    assert status == 201, session
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            gpus = our_node(admin.get("/api/v1/nodes")[1], server)["gpus"]
            held = [gpu["index"] for gpu in gpus if gpu["sessions"]]
            if len(held) == 2:
                break
            time.sleep(0.25)
        assert len(held) == 2, gpus
        for gpu in gpus:
            if gpu["index"] in held:
                # Simulated GPUs run nothing: no per-session figures.
                assert gpu["sessions"] == [{"id": session["id"], "user": name, "memory_used_gb": None,
                                            "utilization_percent": None}]
    finally:
        api.call("DELETE", f"/api/v1/sessions/{session['id']}")


def test_an_admins_live_view_carries_the_nodes_and_a_users_does_not(server, make_user):
    cookie, _ = login(server, "admin", ADMIN_PASSWORD)
    reader = EventReader(server, {"Cookie": cookie})
    try:
        latest = reader.wait_for(lambda latest: "nodes" in latest, timeout=30)
        gpus = our_node(latest["nodes"], server)["gpus"]
        assert len(gpus) == 4 and all(gpu["temperature_c"] is not None for gpu in gpus)
    finally:
        reader.close()

    name, api = make_user("plain")
    cookie, _ = login(server, name, api.password)
    reader = EventReader(server, {"Cookie": cookie})
    try:
        latest = reader.wait_for(lambda latest: "pool" in latest and "sessions" in latest, timeout=30)
        assert "nodes" not in latest
    finally:
        reader.close()


def test_prometheus_scrapes_the_readings_with_an_admin_token(server, admin, make_user):
    request = urllib.request.Request(server.base + "/metrics", headers={"Authorization": "Bearer " + admin.token})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    labels = f'node="{server.node}",gpu="0",uuid="GPU-sim-00005eed-0000",model="A100-80GB",simulated="true"'
    assert f"gpupool_gpu_temperature_celsius{{{labels}}} 30\n" in text, text
    assert f"gpupool_gpu_power_limit_watts{{{labels}}} 400\n" in text
    assert f'gpupool_node_up{{node="{server.node}"}} 1\n' in text
    assert "# TYPE gpupool_queue_length gauge\n" in text
    _, user = make_user("scrape")
    user_request = urllib.request.Request(server.base + "/metrics", headers={"Authorization": "Bearer " + user.token})
    try:
        urllib.request.urlopen(user_request, timeout=30)
        raise AssertionError("a user read the metrics")
    except urllib.error.HTTPError as error:
        assert error.code == 403
