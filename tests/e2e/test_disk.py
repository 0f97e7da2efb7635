"""The data directory on a small filesystem of its own (a loop-mounted ext4 image): near its
watermark, new sessions are refused with a reason while a running one goes on and the ledger
stays writable; completely full, writes fail cleanly and nothing is corrupted or lost."""
import os
import sqlite3
import tempfile

from conftest import ADMIN_PASSWORD, Api, Server, docker, fill, mint_token, remove_containers, run_in_kernel, wait_for_state

RESERVE_MB = 24


def test_near_the_watermark_new_sessions_wait_and_a_full_disk_corrupts_nothing(small_disk):
    server = Server(extra_args=["--min-free-disk-mb", str(RESERVE_MB), "--postpaid"])
    server.data_dir = small_disk
    server.log_path = tempfile.mktemp(prefix="gpupool-disk-log-")
    server.start()
    try:
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
        status, running = admin.post("/api/v1/sessions", {"gpus": 1})
        assert status == 201, running
        running = wait_for_state(admin, running["id"], {"running"})

        filler = fill(small_disk, RESERVE_MB - 8)
        status, refused = admin.post("/api/v1/sessions", {"gpus": 1})
        assert status == 503, refused
        assert "data disk is nearly full" in refused["error"]["message"], refused
        assert admin.get(f"/api/v1/sessions/{running['id']}")[1]["state"] == "running"
        assert admin.get(f"/s/{running['id']}/api")[0] == 200, "its Jupyter answers through the gateway"
        status, entry = admin.post("/api/v1/users/admin/balance", {"amount": 5, "idempotency_key": "near-full"})
        assert status == 201, entry  # the ledger is writable in the reserve

        # Completely full: a write fails cleanly (or fits in space the database already has),
        # the server stays up, and the retry after space is freed counts once either way.
        fill(small_disk, 0)
        status, first = admin.post("/api/v1/users/admin/balance", {"amount": 7, "idempotency_key": "when-full"})
        assert status == 201 or status >= 500, first
        written_when_full = status == 201
        assert admin.get("/healthz")[0] == 200
        assert server.process.poll() is None

        os.remove(filler)
        status, entry = admin.post("/api/v1/users/admin/balance", {"amount": 7, "idempotency_key": "when-full"})
        assert status == (200 if written_when_full else 201), entry
        assert admin.get("/api/v1/balance")[1]["ledger_total"] == 12, "each top-up counted once, none lost"
        status, later = admin.post("/api/v1/sessions", {"gpus": 1})
        assert status == 201, later
        admin.call("DELETE", f"/api/v1/sessions/{later['id']}")
    finally:
        assert server.stop() == 0
        remove_containers(server)
    with sqlite3.connect(os.path.join(small_disk, "gpupool.db")) as database:
        assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_bound_on_what_sessions_write_needs_an_engine_that_can_keep_it():
    server = Server(extra_args=["--session-disk-gb", "1"])
    try:
        server.start()
    except AssertionError:
        # overlay2 on ext4 (as here) cannot bound a container's writable layer: refused at
        # start, saying which storage can, and the check's container is gone.
        assert server.process.poll() == 1
        assert "--session-disk-gb: this engine's storage cannot bound" in server.log(), server.log()
        assert "pquota" in server.log()
        assert docker("ps", "-aq", "--filter", "name=gpupool-disk-check").stdout.split() == []
        return
    try:
        # A storage driver that bounds it: nothing past the bound is written outside the home.
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
        status, session = admin.post("/api/v1/sessions", {"gpus": 1})
        assert status == 201, session
        session = wait_for_state(admin, session["id"], {"running"})
        output = run_in_kernel(session, "import subprocess; print(subprocess.run("
                                        "'head -c 1500M /dev/zero > /tmp/big', shell=True).returncode)", admin)
        assert output.strip() != "0", "a write past the bound fails"
    finally:
        server.stop()
        remove_containers(server)
