#!/usr/bin/python3
"""Spawn latency: request → `running` (Jupyter answering), against the engine floor.

Runs, in one go on one machine:
  floor/sequential   create+start the session image straight through the Docker Engine API,
                     then poll until Jupyter answers; N times one after another
  floor/concurrent   the same, K containers at once, R rounds
  gpupool/sequential POST /api/v1/sessions, poll GET until state is running; N times
  gpupool/concurrent K sessions requested at once, R rounds
and prints p50/p95 per series and the ratios gpupool/floor.

usage: bench/spawn/spawn_bench.py [--runs 10] [--concurrent 5] [--rounds 3] [--binary build/gpupool]
"""
import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

IMAGE = "gpupool/session:pytorch1.13-cpu-debian12-runtime"
POLL_SECONDS = 0.02


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def engine(method, path, body=None):
    connection = UnixConnection("/var/run/docker.sock")
    connection.request(method, "/v1.41" + path, body=json.dumps(body) if body is not None else None,
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, (json.loads(data) if data else None)


def jupyter_answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except Exception:
        return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def floor_once(index):
    """create + start + Jupyter answering, with nothing of gpupool in the way."""
    port = free_port()
    name = f"gpupool-bench-floor-{os.getpid()}-{index}-{secrets.token_hex(3)}"
    base = "/s/bench/"
    body = {
        "Image": IMAGE,
        "Cmd": ["python3", "-m", "notebook", "--no-browser", "--allow-root", "--ip=0.0.0.0", "--port=8888",
                f"--NotebookApp.base_url={base}", "--NotebookApp.token=bench"],
        "Env": ["HOME=/root"],
        "ExposedPorts": {"8888/tcp": {}},
        "HostConfig": {"Init": True, "PortBindings": {"8888/tcp": [{"HostIp": "", "HostPort": str(port)}]}},
    }
    start = time.monotonic()
    status, created = engine("POST", f"/containers/create?name={name}", body)
    assert status == 201, created
    status, _ = engine("POST", f"/containers/{created['Id']}/start")
    assert status == 204
    while not jupyter_answers(f"http://127.0.0.1:{port}{base}api"):
        time.sleep(POLL_SECONDS)
    elapsed = time.monotonic() - start
    engine("DELETE", f"/containers/{created['Id']}?force=true")
    return elapsed


class Gpupool:
    def __init__(self, binary):
        self.data_dir = tempfile.mkdtemp(prefix="gpupool-bench-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.node = "bench-" + secrets.token_hex(3)
        password = "bench-" + secrets.token_hex(8)
        low = 20000 + 100 * secrets.randbelow(20)  # below the ephemeral port range
        self.process = subprocess.Popen(
            [binary, "up", "--data-dir", self.data_dir, "--listen", f"127.0.0.1:{self.port}",
             "--simulate-gpus", "8xA100-80GB", "--public-host", "127.0.0.1", "--node-name", self.node,
             "--port-range", f"{low}-{low + 99}", "--log-level", "warn", "--node-cpus", "64",
             "--node-memory-gb", "256"],
            env=dict(os.environ, GPUPOOL_ADMIN_PASSWORD=password), stdout=subprocess.DEVNULL)
        for _ in range(300):
            try:
                if self.call("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        self.token = self.login("admin", password)

    def login(self, username, password):
        request = urllib.request.Request(self.base + "/api/v1/auth/login", method="POST",
                                         data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as response:
            cookie = response.headers["Set-Cookie"].split(";")[0]
            csrf = json.loads(response.read())["csrf_token"]
        request = urllib.request.Request(self.base + "/api/v1/tokens", method="POST", data=b"{}",
                                         headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read())["token"]

    def call(self, method, path, body=None):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None)
        if getattr(self, "token", None):
            request.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def spawn_once(self, _index):
        start = time.monotonic()
        status, session = self.call("POST", "/api/v1/sessions", {"gpus": 1, "cpus": 1, "memory_gb": 2})
        assert status == 201, session
        while session["state"] != "running":
            assert session["state"] != "ended", session
            time.sleep(POLL_SECONDS)
            session = self.call("GET", f"/api/v1/sessions/{session['id']}")[1]
        elapsed = time.monotonic() - start
        self.call("DELETE", f"/api/v1/sessions/{session['id']}")
        while self.call("GET", f"/api/v1/sessions/{session['id']}")[1]["state"] != "ended":
            time.sleep(0.05)
        return elapsed

    def close(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        subprocess.run(["docker", "volume", "rm", "-f", "gpupool-home-admin"], capture_output=True)


def concurrently(function, count):
    results = [None] * count
    def run(index):
        results[index] = function(index)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(name, values):
    return {"series": name, "n": len(values), "p50": statistics.median(values), "p95": percentile(values, 0.95),
            "min": min(values), "max": max(values)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "gpupool"))
    args = parser.parse_args()

    floor_once(-1)  # warm the page cache for the image
    gpupool = Gpupool(args.binary)
    try:
        gpupool.spawn_once(-1)
        series = {"floor/sequential": [], "gpupool/sequential": [], "floor/concurrent": [], "gpupool/concurrent": []}
        # Interleave floor and gpupool so that machine noise hits both alike.
        for i in range(args.runs):
            series["floor/sequential"].append(floor_once(i))
            series["gpupool/sequential"].append(gpupool.spawn_once(i))
        for _ in range(args.rounds):
            series["floor/concurrent"] += concurrently(floor_once, args.concurrent)
            series["gpupool/concurrent"] += concurrently(gpupool.spawn_once, args.concurrent)
    finally:
        gpupool.close()

    rows = [summary(name, values) for name, values in series.items()]
    print(f"{'series':<20} {'n':>3} {'p50 s':>7} {'p95 s':>7} {'min s':>7} {'max s':>7}")
    for row in rows:
        print(f"{row['series']:<20} {row['n']:>3} {row['p50']:>7.3f} {row['p95']:>7.3f} {row['min']:>7.3f} {row['max']:>7.3f}")
    by_name = {row["series"]: row for row in rows}
    floor = by_name["floor/sequential"]["p50"]
    print(f"sequential p50 ratio gpupool/floor: {by_name['gpupool/sequential']['p50'] / floor:.3f} (goal <= 1.15)")
    print(f"{args.concurrent} at once p50 / sequential floor p50: {by_name['gpupool/concurrent']['p50'] / floor:.3f} (goal <= 2)")
    print(f"{args.concurrent} at once p50 ratio gpupool/floor: "
          f"{by_name['gpupool/concurrent']['p50'] / by_name['floor/concurrent']['p50']:.3f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    sys.exit(main())
