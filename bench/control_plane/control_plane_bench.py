#!/usr/bin/python3
"""bench/control_plane: the control plane on SQLite beside PostgreSQL, one server and three.

Each configuration is the end-to-end test's (tests/e2e/test_replicas.py): gpupool servers
behind HAProxy (one on SQLite, or one or three sharing a PostgreSQL database), GPU servers
posed by bench/sync_load. In the same go, for each:

- REST requests per second: client threads calling GET /api/v1/sessions and GET
  /api/v1/balance (signed in with a token) as fast as answered, through HAProxy;
- placements per second: a burst of session requests (one GPU each, room for all), from the
  first request until the last leaves the queue;
- failover (three servers only): SIGKILL of the leader, then a request at once; the time from
  the kill until it is placed, over several kills (the killed server comes back each time).

Medians of --rounds rounds. The machine's cores are shared by servers, PostgreSQL, HAProxy,
the posed agents and the clients: compare the rows with each other, not with other machines.

    GPUPOOL_TEST_POSTGRES=$(tests/postgres/start.sh) /usr/bin/python3 bench/control_plane/control_plane_bench.py
"""
import argparse
import os
import secrets
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from conftest import Api, mint_token  # noqa: E402
from test_replicas import ControlPlane, retried  # noqa: E402


def user_of(plane):
    name = "bench" + secrets.token_hex(3)
    status, body = plane.admin.post("/api/v1/users", {"username": name, "password": "pw-" + name})
    assert status == 201, body
    return Api(plane.base, mint_token(plane.base, name, "pw-" + name, plane.tls), tls_context=plane.tls)


def rest_rate(user, seconds, threads):
    counts = [0] * threads
    stop_at = time.time() + seconds

    def client(index):
        api = Api(user.base, user.token, tls_context=user.tls_context)
        paths = ["/api/v1/sessions", "/api/v1/balance"]
        while time.time() < stop_at:
            status, _ = api.get(paths[counts[index] % 2])
            assert status == 200
            counts[index] += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / seconds


def placement_rate(user, burst):
    started = time.time()
    ids = []
    for _ in range(burst):
        status, body = user.post("/api/v1/sessions", {"gpus": 1})
        assert status == 201, body
        ids.append(body["id"])
    waiting = set(ids)
    while waiting:
        assert time.time() < started + 120, "sessions were not placed"
        listed = {s["id"]: s["state"] for s in user.get("/api/v1/sessions")[1]["sessions"]}
        waiting = {sid for sid in waiting if listed.get(sid) == "queued"}
        time.sleep(0.01)
    rate = burst / (time.time() - started)
    for sid in ids:
        user.call("DELETE", f"/api/v1/sessions/{sid}")
    return rate


def failover_time(plane, user):
    leader = plane.wait_for_one_leader()
    killed_at = time.time()
    leader.kill()
    status, body = retried(lambda: user.post("/api/v1/sessions", {"gpus": 1}))
    assert status == 201, body
    while retried(lambda: user.get(f"/api/v1/sessions/{body['id']}"))[1]["state"] == "queued":
        assert time.time() < killed_at + 60, "no placement after the kill"
        time.sleep(0.005)
    took = time.time() - killed_at
    retried(lambda: user.call("DELETE", f"/api/v1/sessions/{body['id']}"))
    leader.start()
    return took


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--burst", type=int, default=48)
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args()
    configurations = [("SQLite, 1 server", 1, False), ("PostgreSQL, 1 server", 1, True),
                      ("PostgreSQL, 3 servers", 3, True)]
    rows = []
    for label, servers, postgres in configurations:
        plane = ControlPlane(servers=servers, postgres=postgres, nodes=8)  # 64 GPUs
        try:
            plane.start()
            user = user_of(plane)
            rest = [rest_rate(user, args.seconds, args.threads) for _ in range(args.rounds)]
            placed = [placement_rate(user, args.burst) for _ in range(args.rounds)]
            failovers = [failover_time(plane, user) for _ in range(args.kills)] if servers > 1 else []
        finally:
            plane.stop()
        rows.append((label, statistics.median(rest), statistics.median(placed),
                     statistics.median(failovers) if failovers else None, failovers))
        print(f"{label}: done", file=sys.stderr)
    base_rest, base_placed = rows[0][1], rows[0][2]
    print("| configuration | REST requests/s (median) | × SQLite | placements/s (median) | × SQLite "
          "| failover: kill → first placement (median) |")
    print("|---|---|---|---|---|---|")
    for label, rest, placed, failover, failovers in rows:
        fail_text = (f"{failover * 1000:.0f} ms (of {', '.join(f'{f * 1000:.0f}' for f in failovers)})"
                     if failover is not None else "—")
        print(f"| {label} | {rest:.0f} | {rest / base_rest:.2f} | {placed:.1f} | {placed / base_placed:.2f} "
              f"| {fail_text} |")


if __name__ == "__main__":
    main()
