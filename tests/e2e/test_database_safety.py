"""The database as something that can be lost: a server started on a new one next to running
sessions leaves their containers running, fenced and reported, until an admin decides; an
online backup restores what was committed when it was taken."""
import glob
import os
import shutil
import signal
import subprocess
import time

from conftest import ADMIN_PASSWORD, BINARY, Api, Server, docker, mint_token, remove_containers, wait_for_state


def running(container):
    return docker("inspect", "--format", "{{.State.Running}}", container).stdout.strip() == "true"


def test_a_lost_database_leaves_running_containers_alone_until_an_admin_decides():
    server = Server()
    server.start()
    try:
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
        status, session = admin.post("/api/v1/sessions", {"gpus": 1})
        assert status == 201, session
        status, kept = admin.post("/api/v1/sessions", {"gpus": 1})
        assert status == 201, kept
        session = wait_for_state(admin, session["id"], {"running"})
        kept = wait_for_state(admin, kept["id"], {"running"})
        container = f"gpupool-{session['id']}"
        kept_container_id = docker("inspect", "--format", "{{.Id}}", f"gpupool-{kept['id']}").stdout

        assert server.stop(signal.SIGTERM) == 0
        for path in glob.glob(os.path.join(server.data_dir, "gpupool.db*")):
            os.remove(path)
        server.start()  # a fresh database: a new admin, no sessions
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))

        deadline = time.time() + 30
        unknown = []
        while time.time() < deadline and len(unknown) < 2:
            unknown = admin.get("/api/v1/nodes")[1]["unknown_containers"]
            time.sleep(0.5)
        unknown = [entry for entry in unknown if entry["session"] == session["id"]] + \
            [entry for entry in unknown if entry["session"] == kept["id"]]
        assert [entry["session"] for entry in unknown] == [session["id"], kept["id"]], unknown
        assert unknown[0]["user"] == "admin" and unknown[0]["holdings_known"]
        assert unknown[0]["gpu_indices"] == session["gpus"]["indices"]
        assert "jupyter_token" not in unknown[0], "the token is the gateway's, never shown"
        time.sleep(3)  # several syncs
        assert running(container), "a missing row is no reason to remove a container"
        assert "is a NEW database, but node" in server.log()
        assert "the database does not know" in server.log()

        # One is adopted: a session again, on the same container, its Jupyter through the gateway.
        status, adopted = admin.post(f"/api/v1/nodes/{server.node}/unknown-containers/{kept['id']}/adopt")
        assert status == 201, adopted
        adopted = wait_for_state(admin, kept["id"], {"running"}, timeout=60)
        assert adopted["gpus"]["indices"] == kept["gpus"]["indices"]
        assert adopted["ssh"]["host_key"] == kept["ssh"]["host_key"]
        assert docker("inspect", "--format", "{{.Id}}", f"gpupool-{kept['id']}").stdout == kept_container_id
        assert admin.get(f"/s/{kept['id']}/api")[0] == 200, "its Jupyter answers through the gateway"
        status, again = admin.post(f"/api/v1/nodes/{server.node}/unknown-containers/{kept['id']}/adopt")
        assert status == 404, again

        # The other's GPU stays fenced: with the adopted one's, three GPUs wait; two would fit.
        status, four = admin.post("/api/v1/sessions", {"gpus": 3})
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
        assert pool["gpu_models"][0]["free"] == pool["gpu_models"][0]["total"] - 1, "the fence went with it"
        admin.call("DELETE", f"/api/v1/sessions/{kept['id']}")
        wait_for_state(admin, kept["id"], {"ended"}, timeout=60)
    finally:
        server.stop()
        remove_containers(server)


def test_an_online_backup_restores_what_was_committed_when_it_was_taken(tmp_path):
    server = Server()
    server.start()
    try:
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
        status, _ = admin.post("/api/v1/users", {"username": "rhea", "password": "rhea-password-1"})
        assert status == 201
        status, _ = admin.post("/api/v1/users/rhea/balance", {"amount": 5, "idempotency_key": "backup-1"})
        assert status in (200, 201)
        copy = str(tmp_path / "gpupool-backup.db")
        backup = subprocess.run([BINARY, "admin", "backup", copy, "--data-dir", server.data_dir],
                                capture_output=True, text=True, timeout=60)
        assert backup.returncode == 0, backup.stderr
        assert oct(os.stat(copy).st_mode & 0o777) == "0o600", "password hashes are inside"
        again = subprocess.run([BINARY, "admin", "backup", copy, "--data-dir", server.data_dir],
                               capture_output=True, text=True, timeout=60)
        assert again.returncode == 1 and "exists already" in again.stderr
        status, _ = admin.post("/api/v1/users", {"username": "late", "password": "late-password-1"})
        assert status == 201

        # Restore: stop gpupool, put the copy in the database's place, start again.
        assert server.stop(signal.SIGTERM) == 0
        for path in glob.glob(os.path.join(server.data_dir, "gpupool.db*")):
            os.remove(path)
        shutil.copy(copy, os.path.join(server.data_dir, "gpupool.db"))
        server.start()
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
        names = [user["username"] for user in admin.get("/api/v1/users")[1]["users"]]
        assert "rhea" in names and "late" not in names, names
        rhea = Api(server.base, mint_token(server.base, "rhea", "rhea-password-1"))
        assert rhea.get("/api/v1/balance")[1]["balance"] == 5
    finally:
        server.stop()
        remove_containers(server)
