#!/usr/bin/python3
"""Sessions on Slurm: request → Jupyter answering through the gateway, beside the same on the
Docker agent of `gpupool up`, interleaved in one go, and where the Slurm path spends its time.

Starts, on this machine: a Slurm cluster of two nodes (tests/slurm/cluster.sh), a Unix account,
the default image unpacked for jobs (`gpupool slurm-image`), `gpupool server --slurm`, and
`gpupool up` with simulated GPUs as the baseline. Each run requests one session with one GPU,
polls every 20 ms until GET /s/<id>/api answers 200 through the gateway, notes when the
session became `starting` (Slurm started its job) and `running` (the job reported), then stops
it and waits for it to end.

usage: bench/slurm/slurm_bench.py [--runs 10] [--poll-seconds 1] [--binary build/gpupool]
Run as root (it starts Slurm and makes a Unix account).
"""
import argparse
import json
import os
import pwd
import secrets
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "spawn"))
from spawn_bench import IMAGE, Gpupool, free_port, percentile  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TAG = "pytorch1.13-cpu-debian12-runtime"
ACCOUNT = "slurmbench"
POLL = 0.02


class Client:
    def __init__(self, base, token, tls=None):
        self.base, self.token, self.tls = base, token, tls

    def call(self, method, path, body=None):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": "Bearer " + self.token})
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.tls) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, None

    def spawn_once(self):
        """Seconds from the request to: starting, running, Jupyter through the gateway."""
        start = time.monotonic()
        status, session = self.call("POST", "/api/v1/sessions", {"gpus": 1, "cpus": 1, "memory_gb": 2})
        assert status == 201, session
        marks = {}
        while True:
            session = self.call("GET", f"/api/v1/sessions/{session['id']}")[1]
            assert session["state"] != "ended", session
            for state in ("starting", "running"):
                if session["state"] in ("starting", "running") and state not in marks:
                    if state == "starting" or session["state"] == "running":
                        marks[state] = time.monotonic() - start
            if session["state"] == "running" and self.call("GET", f"/s/{session['id']}/api")[0] == 200:
                marks["gateway"] = time.monotonic() - start
                break
            time.sleep(POLL)
        self.call("DELETE", f"/api/v1/sessions/{session['id']}")
        while self.call("GET", f"/api/v1/sessions/{session['id']}")[1]["state"] != "ended":
            time.sleep(0.05)
        return marks


def sh(*args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def login(base, username, password, tls):
    request = urllib.request.Request(base + "/api/v1/auth/login", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=tls) as response:
        cookie = response.headers["Set-Cookie"].split(";")[0]
        csrf = json.loads(response.read())["csrf_token"]
    request = urllib.request.Request(base + "/api/v1/tokens", method="POST", data=b"{}",
                                     headers={"Cookie": cookie, "X-CSRF-Token": csrf})
    with urllib.request.urlopen(request, context=tls) as response:
        return json.loads(response.read())["token"]


class SlurmSite:
    def __init__(self, binary, poll_seconds):
        self.work = tempfile.mkdtemp(prefix="gpupool-bench-slurm-")
        os.chmod(self.work, 0o755)
        self.env = dict(os.environ, SLURM_CONF=os.path.join(self.work, "slurm", "slurm.conf"))
        sh("bash", os.path.join(ROOT, "tests", "slurm", "cluster.sh"), "start", os.path.join(self.work, "slurm"))
        try:
            pwd.getpwnam(ACCOUNT)
        except KeyError:
            sh("useradd", "--user-group", "--no-create-home", ACCOUNT)
        home = os.path.join(self.work, "homes", ACCOUNT)
        os.makedirs(home)
        os.chown(home, pwd.getpwnam(ACCOUNT).pw_uid, pwd.getpwnam(ACCOUNT).pw_gid)
        logs = os.path.join(self.work, "logs")
        os.mkdir(logs)
        os.chmod(logs, 0o1777)
        images = os.path.join(self.work, "images")
        sh(binary, "slurm-image", f"{TAG}={IMAGE}", "--slurm-images", images)
        port = free_port()
        self.base = f"https://127.0.0.1:{port}"
        data_dir = os.path.join(self.work, "server")
        password = "bench-" + secrets.token_hex(8)
        self.process = subprocess.Popen(
            [binary, "server", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}", "--public-host", "127.0.0.1",
             "--session-ports", "8",
             "--log-level", "warn", "--image", f"{TAG}={IMAGE}", "--slurm", "--slurm-gpu-model", "a100=A100-80GB",
             "--slurm-images", images, "--slurm-home", os.path.join(self.work, "homes", "{user}"),
             "--slurm-gpu-devices", os.path.join(self.work, "slurm", "dev", "gpu[0-3]"), "--slurm-job-log", os.path.join(logs, "job-%j.log"),
             "--slurm-poll-seconds", str(poll_seconds)],
            env=dict(self.env, GPUPOOL_ADMIN_PASSWORD=password), stdout=open(os.path.join(self.work, "server.log"), "w"),
            stderr=subprocess.STDOUT)
        cert = os.path.join(data_dir, "tls", "server.crt")
        admin = None
        for _ in range(300):
            if os.path.exists(cert):
                try:
                    self.tls = ssl.create_default_context(cafile=cert)
                    admin = Client(self.base, login(self.base, "admin", password, self.tls), self.tls)
                    break
                except (OSError, ssl.SSLError):
                    pass
            time.sleep(0.1)
        assert admin, open(os.path.join(self.work, "server.log")).read()
        user_password = "pw-" + secrets.token_hex(8)
        assert admin.call("POST", "/api/v1/users", {"username": ACCOUNT, "password": user_password})[0] == 201
        self.client = Client(self.base, login(self.base, ACCOUNT, user_password, self.tls), self.tls)

    def close(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        subprocess.run(["scancel", "-u", ACCOUNT], env=self.env, capture_output=True)
        subprocess.run(["bash", os.path.join(ROOT, "tests", "slurm", "cluster.sh"), "stop",
                        os.path.join(self.work, "slurm")], capture_output=True)


def describe(name, values):
    return f"{name:<34} p50 {statistics.median(values):6.3f}  p95 {percentile(values, 0.95):6.3f}  " \
           f"min {min(values):6.3f}  max {max(values):6.3f}  (n={len(values)})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "gpupool"))
    args = parser.parse_args()
    docker = Gpupool(args.binary)
    slurm = SlurmSite(args.binary, args.poll_seconds)
    docker_client = Client(docker.base, docker.token)
    try:
        docker_client.spawn_once()  # warm both paths
        slurm.client.spawn_once()
        series = {"docker": [], "slurm": [], "slurm: to starting": [], "slurm: starting to running": [],
                  "slurm: running to gateway": [], "docker: to running": []}
        for _ in range(args.runs):
            marks = docker_client.spawn_once()
            series["docker"].append(marks["gateway"])
            series["docker: to running"].append(marks["running"])
            marks = slurm.client.spawn_once()
            series["slurm"].append(marks["gateway"])
            series["slurm: to starting"].append(marks["starting"])
            series["slurm: starting to running"].append(marks["running"] - marks["starting"])
            series["slurm: running to gateway"].append(marks["gateway"] - marks["running"])
    finally:
        slurm.close()
        docker.close()
    print(f"request → Jupyter answering through the gateway (s), {args.runs} runs each, interleaved; "
          f"Slurm polled every {args.poll_seconds} s")
    for name, values in series.items():
        print(describe(name, values))
    print(f"slurm / docker p50: {statistics.median(series['slurm']) / statistics.median(series['docker']):.2f}")


if __name__ == "__main__":
    main()
