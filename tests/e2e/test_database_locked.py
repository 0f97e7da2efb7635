"""Case 31 of the reliability list: the database locked for seconds by another process (an
admin's sqlite3 shell, a backup tool). Writes wait and then fail with a clear 503; Jupyter
through the gateway keeps answering; the agent's syncs fail and are retried; a session whose
container went away meanwhile ends at its last report, not when the lock lifted, and is
charged exactly once.

Usage is never buffered in memory: what a session costs follows from its start, end and down
times, and an end the server could not write is reported again at the next sync (the agent
reports its whole state every time), so nothing waits anywhere to be lost."""
import os
import sqlite3
import threading
import time
import urllib.request

from conftest import docker, request_sessions, seconds_of, wait_for_state

LOCK_SECONDS = 12  # past the store's 5 s wait for a lock, twice over


def jupyter_status(session, api):
    request = urllib.request.Request(session["jupyter"]["url"] + "api/status",
                                     headers={"Authorization": "Bearer " + api.token})
    started = time.time()
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    return time.time() - started


def test_a_locked_database_holds_up_writes_but_not_jupyter_and_loses_or_doubles_nothing(
        server, admin, make_user):
    name, user = make_user("locked")
    assert admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 36})[0] == 200  # 0.01 a second
    assert admin.post(f"/api/v1/users/{name}/balance", {"amount": 100, "idempotency_key": "k1"})[0] == 201
    ids = request_sessions(user, 2)
    kept, lost = [wait_for_state(user, session_id, {"running"}) for session_id in ids]
    time.sleep(3)  # a few billed seconds before the lock

    holder = sqlite3.connect(os.path.join(server.data_dir, "gpupool.db"), isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long transaction elsewhere holds it
    locked_at = time.time()
    refused = {}

    def request_during_the_lock():
        refused["answer"] = user.post("/api/v1/sessions", {"gpus": 1})

    writer = threading.Thread(target=request_during_the_lock)
    writer.start()
    latencies = []
    removed_at = None
    while time.time() < locked_at + LOCK_SECONDS:
        latencies.append(jupyter_status(kept, user))
        if removed_at is None and time.time() > locked_at + 1:
            assert docker("rm", "-f", f"gpupool-{lost['id']}").returncode == 0
            removed_at = time.time()
        time.sleep(0.2)
    writer.join(timeout=30)
    holder.execute("ROLLBACK")
    holder.close()

    assert max(latencies) < 2, f"Jupyter held up by the lock: {max(latencies):.1f} s"
    status, body = refused["answer"]
    assert status == 503, (status, body)
    assert "database" in body["error"]["message"], body

    ended = wait_for_state(user, lost["id"], {"ended"}, timeout=60)
    assert ended["end_reason"] == "failed" and "disappeared" in ended["reason"], ended
    # Billed to the last report that listed it, before the lock: not to when the lock lifted.
    assert seconds_of(ended["ended_at"]) <= removed_at + 1, (ended["ended_at"], removed_at)
    status, still = user.get(f"/api/v1/sessions/{kept['id']}")
    assert still["state"] == "running" and still["restarts"]["count"] == 0, still

    user.call("DELETE", f"/api/v1/sessions/{kept['id']}")
    stopped = wait_for_state(user, kept["id"], {"ended"}, timeout=60)
    time.sleep(2)  # syncs go on: a second charge would show now
    status, balance = user.get("/api/v1/balance")
    charges = [entry for entry in balance["entries"] if entry["kind"] == "charge"]
    assert sorted(entry["session"] for entry in charges) == sorted(ids), "each charged exactly once"
    for entry in charges:
        session = stopped if entry["session"] == kept["id"] else ended
        assert abs(-entry["amount"] - session["cost"]["so_far"]) < 1e-6, (entry, session["cost"])
    assert abs(balance["balance"] - (100 - sum(-entry["amount"] for entry in charges))) < 1e-6
    assert "database is locked" in server.log(), "what failed under the lock said why"
    admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 0})
