"""A server started on a new database next to running sessions (the file lost, or replaced):
their containers are left running, fenced and reported, and go only when an admin says so."""
import glob
import os
import signal
import time

from conftest import ADMIN_PASSWORD, Api, Server, docker, mint_token, remove_containers, wait_for_state


def running(container):
    return docker("inspect", "--format", "{{.State.Running}}", container).stdout.strip() == "true"


def test_a_lost_database_leaves_running_containers_alone_until_an_admin_decides():
    server = Server()
    server.start()
    try:
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
        status, session = admin.post("/api/v1/sessions", {"gpus": 1})
        assert status == 201, session
        session = wait_for_state(admin, session["id"], {"running"})
        container = f"gpupool-{session['id']}"

        assert server.stop(signal.SIGTERM) == 0
        for path in glob.glob(os.path.join(server.data_dir, "gpupool.db*")):
            os.remove(path)
        server.start()  # a fresh database: a new admin, no sessions
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))

        deadline = time.time() + 30
        unknown = []
        while time.time() < deadline and not unknown:
            unknown = admin.get("/api/v1/nodes")[1]["unknown_containers"]
            time.sleep(0.5)
        assert [entry["session"] for entry in unknown] == [session["id"]], unknown
        assert unknown[0]["user"] == "admin" and unknown[0]["holdings_known"]
        assert unknown[0]["gpu_indices"] == session["gpus"]["indices"]
        time.sleep(3)  # several syncs
        assert running(container), "a missing row is no reason to remove a container"
        assert "the database does not know" in server.log()

        # Its GPU stays fenced: four GPUs wait; three fit.
        status, four = admin.post("/api/v1/sessions", {"gpus": 4})
        assert status == 201 and four["state"] == "queued", four
        status, _ = admin.call("DELETE", f"/api/v1/sessions/{four['id']}")
        assert status == 200

        status, reply = admin.call("DELETE", f"/api/v1/nodes/{server.node}/unknown-containers/nope")
        assert status == 404, reply
        status, reply = admin.call(
            "DELETE", f"/api/v1/nodes/{server.node}/unknown-containers/{session['id']}")
        assert status == 202, reply
        deadline = time.time() + 30
        while time.time() < deadline and docker("inspect", container).returncode == 0:
            time.sleep(0.5)
        assert docker("inspect", container).returncode != 0, "removed on the admin's word"
        deadline = time.time() + 10
        while time.time() < deadline and admin.get("/api/v1/nodes")[1]["unknown_containers"]:
            time.sleep(0.5)
        assert admin.get("/api/v1/nodes")[1]["unknown_containers"] == []
        status, pool = admin.get("/api/v1/pool")
        assert pool["gpu_models"][0]["free"] == pool["gpu_models"][0]["total"], "the fence went with it"
    finally:
        server.stop()
        remove_containers(server)
