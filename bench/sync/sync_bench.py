#!/usr/bin/python3
"""bench/sync: a real `gpupool server` with N simulated agents (build/bench/sync_load).

Three series in the same go: agents as `gpupool agent` syncs now (a long poll on one kept
TLS connection); the baseline of the previous agent (the same long poll, a new TLS
connection per sync); and agents that sync every second without waiting, as protocol 1's
did (on kept connections). For each it measures, over a window after every node has
joined: syncs per second; the server's CPU (its own /proc ticks, so the load generator's
share is not counted) and resident memory; and request-to-agent latency — from just before
`POST /api/v1/sessions` to the moment the session's node first receives it.

    /usr/bin/python3 bench/sync/sync_bench.py --nodes 100 1000 --seconds 40 --sessions 60
"""
import argparse
import json
import os
import secrets
import signal
import socket
import ssl
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("GPUPOOL_BINARY", os.path.join(ROOT, "build", "gpupool"))
LOAD = os.path.join(ROOT, "build", "bench", "sync_load")
TICKS = os.sysconf("SC_CLK_TCK")
UNVERIFIED = ssl._create_unverified_context()  # the bench's own self-signed server


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


class Server:
    def __init__(self):
        self.data_dir = tempfile.mkdtemp(prefix="gpupool-sync-bench-")
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        password = "bench-" + secrets.token_hex(8)
        self.process = subprocess.Popen(
            [BINARY, "server", "--data-dir", self.data_dir, "--listen", f"127.0.0.1:{self.port}",
             "--public-host", "127.0.0.1", "--log-level", "warn", "--postpaid",
             "--max-queued-per-user", "10000",
             # Every simulated agent connects from 127.0.0.1; real ones each have their own.
             "--max-connections-per-source", "5000"],
            env=dict(os.environ, GPUPOOL_ADMIN_PASSWORD=password), stdout=subprocess.DEVNULL)
        self.token = None
        for _ in range(300):
            try:
                if self.call("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        self.token = self.login("admin", password)

    def login(self, username, password):
        status, body, headers = self.call("POST", "/api/v1/auth/login",
                                          {"username": username, "password": password}, True)
        cookie = headers["Set-Cookie"].split(";")[0]
        request = urllib.request.Request(self.base + "/api/v1/tokens", method="POST", data=b"{}",
                                         headers={"Cookie": cookie, "X-CSRF-Token": body["csrf_token"]})
        with urllib.request.urlopen(request, context=UNVERIFIED) as response:
            return json.loads(response.read())["token"]

    def call(self, method, path, body=None, with_headers=False):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json"})
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(request, timeout=60, context=UNVERIFIED) as response:
                result = (response.status, json.loads(response.read() or b"{}"))
                return result + (response.headers,) if with_headers else result
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def cpu_seconds(self):
        return cpu_seconds(self.process.pid)

    def rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def close(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


SERIES = {
    "long poll, kept connection": [],
    "long poll, connection per sync (previous agent)": ["--connection-per-sync"],
    "1 s poll (protocol 1)": ["--poll"],
}


def series(nodes, seconds, sessions, load_options):
    server = Server()
    try:
        status, token = server.call("POST", "/api/v1/join-tokens", {"uses": -1})
        assert status == 201, token
        load = subprocess.Popen(
            [LOAD, "--server", server.base, "--cert", os.path.join(server.data_dir, "tls", "server.crt"),
             "--token", token["token"], "--nodes", str(nodes), "--seconds", str(seconds + 120)]
            + load_options,
            stdout=subprocess.PIPE, text=True)
        seen = {}
        ready = threading.Event()
        counts = {}

        def read_output():
            for line in load.stdout:
                words = line.split()
                if words and words[0] == "ready":
                    ready.set()
                elif words and words[0] == "seen":
                    seen.setdefault(words[1], int(words[2]))
                elif words and words[0] == "count":
                    counts["syncs"], counts["errors"] = int(words[1]), int(words[2])
        reader = threading.Thread(target=read_output, daemon=True)
        reader.start()
        if not ready.wait(60 + nodes * 0.5):
            load.kill()
            raise AssertionError("the load generator did not get every node joined and synced")
        time.sleep(3)  # past the first round of syncs
        cpu_before, load_cpu_before, started = server.cpu_seconds(), cpu_seconds(load.pid), time.monotonic()
        syncs_before, errors_before = counts["syncs"], counts["errors"]
        requested = {}
        gap = seconds / max(sessions, 1)
        for _ in range(sessions):
            sent = time.time() * 1000
            status, session = server.call("POST", "/api/v1/sessions", {"gpus": 1, "cpus": 1, "memory_gb": 1})
            assert status == 201, session
            requested[session["id"]] = sent
            time.sleep(gap)
        remaining = seconds - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        elapsed = time.monotonic() - started
        cpu = (server.cpu_seconds() - cpu_before) / elapsed
        load_cpu = (cpu_seconds(load.pid) - load_cpu_before) / elapsed
        rss = server.rss_mb()
        syncs_per_second = (counts["syncs"] - syncs_before) / elapsed
        errors = counts["errors"] - errors_before
        load.send_signal(signal.SIGKILL)
        load.wait()
        reader.join(timeout=5)
        latencies = [seen[id] - sent for id, sent in requested.items() if id in seen]
        missing = len(requested) - len(latencies)
        return {"cpu": cpu, "load_cpu": load_cpu, "rss": rss, "latencies": sorted(latencies), "missing": missing,
                "syncs_per_second": syncs_per_second, "errors": errors}
    finally:
        server.close()


def percentile(values, fraction):
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(fraction * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--sessions", type=int, default=60)
    args = parser.parse_args()
    print("| nodes × 8 GPUs | agents | syncs/s | errors | server CPU (cores) | CPU ms per sync | "
          "server RSS (MB) | generator CPU (cores) | latency p50 (ms) | p99 (ms) | max (ms) | not seen |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for nodes in args.nodes:
        for name, load_options in SERIES.items():
            try:
                result = series(nodes, args.seconds, args.sessions, load_options)
            except AssertionError as failure:  # the generator, not the server, gave out
                print(f"| {nodes} | {name} | {failure} |", flush=True)
                continue
            lat = result["latencies"]
            print(f"| {nodes} | {name} | "
                  f"{result['syncs_per_second']:.0f} | {result['errors']} | "
                  f"{result['cpu']:.2f} | {1000 * result['cpu'] / max(result['syncs_per_second'], 1e-9):.2f} | "
                  f"{result['rss']:.0f} | {result['load_cpu']:.2f} | "
                  f"{statistics.median(lat) if lat else float('nan'):.0f} | "
                  f"{percentile(lat, 0.99):.0f} | {max(lat) if lat else float('nan'):.0f} | {result['missing']} |",
                  flush=True)


if __name__ == "__main__":
    main()
