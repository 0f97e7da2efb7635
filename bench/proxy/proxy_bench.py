#!/usr/bin/python3
"""The gateway's proxy and REST API under load, each beside its baseline, in one go:

  (a) a session's Jupyter (GET /s/ID/api) through the gateway vs straight to its port: with
      an API token at the gateway's address, and as a browser gets it (its pass at the
      session's own port; a binary from before the session ports: the login cookie at the
      gateway's address)
  (b) the proxies alone against nginx serving a small file: gpupool's relay
      (build/bench/gateway_harness) vs JupyterHub's configurable-http-proxy
  (c) WebSocket messages/s to the session's kernel (kernel_info round trips) through the
      gateway vs straight to Jupyter
  (d) GET /api/v1/sessions/ID with a bearer token
  (e) uploads through the gateway and its peak memory: 1 GiB in Jupyter's 1 MiB chunks (as
      the browser sends a large file), then 256 MiB in one request (Jupyter refuses the
      body, after the gateway has streamed it all)
  (f) a session's web app (`gpupool expose`: a Tornado app answering "hello" on a port of the
      session, keeping connections open as most web apps do) through the gateway and the
      node's app relay vs straight to the container

HTTP load comes from wrk (-t2 -c32 by default); every series runs --runs times and the
median requests/s and p99 are reported, with the ratios to the baseline.

usage: bench/proxy/proxy_bench.py [--runs 3] [--seconds 10] [--binary build/gpupool]
needs: wrk, nginx (Debian), configurable-http-proxy (npm ci --prefix bench/proxy)
"""
import argparse
import base64
import http.client
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid

import websocket

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url, headers=None, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} never answered")


def call(base, method, path, token=None, body=None, cookie=None, csrf=None):
    request = urllib.request.Request(base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if cookie:
        request.add_header("Cookie", cookie)
    if csrf:
        request.add_header("X-CSRF-Token", csrf)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null"), response.headers


def wrk(url, header, seconds, threads, connections):
    """Runs wrk once; returns (requests/s, p99 ms)."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if header:
        command[1:1] = ["-H", header]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} failed responses from {url}")
    return rate, float(p99.group(1)) * scale


def series(name, runs, measure):
    results = [measure() for _ in range(runs)]
    rates = [rate for rate, _ in results]
    p99s = [p99 for _, p99 in results]
    median = (statistics.median(rates), statistics.median(p99s))
    print(f"{name:<34} {median[0]:>10.0f} req/s   p99 {median[1]:>7.2f} ms   "
          f"(runs: {', '.join(f'{r:.0f}' for r in rates)})", flush=True)
    return median


def kernel_round_trips(url, header, count):
    """kernel_info requests over one WebSocket, one after another; returns messages/s."""
    connection = websocket.create_connection(url, timeout=60, header=[header] if header else [])
    session = uuid.uuid4().hex
    started = time.perf_counter()
    for _ in range(count):
        message_id = uuid.uuid4().hex
        connection.send(json.dumps({
            "header": {"msg_id": message_id, "username": "bench", "session": session,
                       "msg_type": "kernel_info_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "content": {}, "channel": "shell", "buffers": []}))
        while True:
            reply = json.loads(connection.recv())
            if reply.get("parent_header", {}).get("msg_id") == message_id and reply["msg_type"] == "kernel_info_reply":
                break
    elapsed = time.perf_counter() - started
    connection.close()
    return 2 * count / elapsed  # a request and its reply each way


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "gpupool"))
    parser.add_argument("--parts", default="abcd", help="which of (a)–(f) to run")
    parser.add_argument("--http-threads", type=int, default=0, help="the gateway's threads (0: its default)")
    parser.add_argument("--store", default="", help="gpupool up's --store (default: SQLite in a fresh data dir)")
    args = parser.parse_args()
    load = dict(seconds=args.seconds, threads=args.threads, connections=args.connections)

    children = []
    data_dir = tempfile.mkdtemp(prefix="gpupool-proxy-bench-")
    try:
        # gpupool up with one session.
        port = free_port()
        password = secrets.token_hex(12)
        low = 21000 + secrets.randbelow(50) * 20
        children.append(subprocess.Popen(
            [args.binary, "up", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}", "--simulate-gpus",
             "4xA100-80GB", "--public-host", "127.0.0.1", "--node-name", "proxy-bench-" + secrets.token_hex(3),
             "--port-range", f"{low}-{low + 19}", "--node-cpus", "16", "--node-memory-gb", "64",
             "--log-level", "warn"] + (["--http-threads", str(args.http_threads)] if args.http_threads else [])
            + (["--store", args.store] if args.store else []),
            env=dict(os.environ, GPUPOOL_ADMIN_PASSWORD=password), stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(data_dir, "server.log"), "w")))
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/readyz")
        reply, headers = call(base, "POST", "/api/v1/auth/login", body={"username": "admin", "password": password})
        cookie = headers["Set-Cookie"].split(";")[0]
        token = call(base, "POST", "/api/v1/tokens", body={}, cookie=cookie, csrf=reply["csrf_token"])[0]["token"]
        session, _ = call(base, "POST", "/api/v1/sessions", token, {"gpus": 1})
        while session["state"] != "running":
            time.sleep(0.2)
            session, _ = call(base, "GET", f"/api/v1/sessions/{session['id']}", token)
        sid = session["id"]
        inspect = json.loads(subprocess.run(["docker", "inspect", f"gpupool-{sid}"], capture_output=True,
                                            text=True, check=True).stdout)[0]
        jupyter_port = int(inspect["HostConfig"]["PortBindings"]["8888/tcp"][0]["HostPort"])
        jupyter_token = next(e.split("=", 1)[1] for e in inspect["Config"]["Env"] if e.startswith("GPUPOOL_TOKEN="))
        direct = f"http://127.0.0.1:{jupyter_port}/s/{sid}/"
        through = f"{base}/s/{sid}/"
        bearer = f"Authorization: Bearer {token}"
        jupyter_auth = f"Authorization: token {jupyter_token}"

        print(f"machine: {os.cpu_count()} cores; wrk -t{args.threads} -c{args.connections} "
              f"-d{args.seconds}s; median of {args.runs} runs\n")
        if "a" in args.parts:
            part_a(args, load, direct, through, jupyter_auth, bearer, browser_way_in(port, sid, cookie))
        if "b" in args.parts:
            part_b(args, load, children)
        if "c" in args.parts:
            part_c(args, base, token, sid, jupyter_port, port, jupyter_auth, bearer)
        if "d" in args.parts:
            print("(d) the REST API: GET /api/v1/sessions/ID with a bearer token")
            series("  gpupool API", args.runs, lambda: wrk(f"{base}/api/v1/sessions/{sid}", bearer, **load))
        if "e" in args.parts:
            part_e(port, token, sid, children[0].pid)
        if "f" in args.parts:
            part_f(args, load, base, token, sid, inspect)
        call(base, "DELETE", f"/api/v1/sessions/{sid}", token)
    finally:
        for child in reversed(children):
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        remove_bench_containers()


def browser_way_in(port, sid, cookie):
    """Where a signed-in browser gets the session's Jupyter, and with which cookie: the
    session's own port and its pass, or (a gateway that serves sessions at its own address)
    the gateway and the login cookie."""
    path = f"/s/{sid}/"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    response.read()
    location = urllib.parse.urlsplit(response.getheader("Location") or "")
    if response.status != 302 or location.port in (None, port):  # Jupyter's own redirect
        return f"http://127.0.0.1:{port}{path}", cookie
    connection = http.client.HTTPConnection(location.hostname, location.port, timeout=30)
    connection.request("GET", f"{location.path}?{location.query}")
    entered = connection.getresponse()
    entered.read()
    return f"http://{location.hostname}:{location.port}{path}", entered.getheader("Set-Cookie").split(";")[0]


def part_a(args, load, direct, through, jupyter_auth, bearer, browser):
    print("(a) a session's Jupyter, GET /s/ID/api")
    jupyter_direct = series("  direct to Jupyter's port", args.runs,
                            lambda: wrk(direct + "api", jupyter_auth, **load))
    jupyter_gateway = series("  through the gateway, API token", args.runs,
                             lambda: wrk(through + "api", bearer, **load))
    browser_url, browser_cookie = browser
    where = "gateway" if browser_url.startswith(through) else "own port"
    jupyter_browser = series(f"  browser, login cookie/pass ({where})", args.runs,
                             lambda: wrk(browser_url + "api", f"Cookie: {browser_cookie}", **load))
    for name, measured in (("API token", jupyter_gateway), ("browser", jupyter_browser)):
        print(f"  {name}/direct: {measured[0] / jupyter_direct[0]:.1%} of the throughput, "
              f"p99 {measured[1] - jupyter_direct[1]:+.2f} ms")
    print()


def part_b(args, load, children):
    print("(b) the proxies alone, in front of nginx serving a small file")
    nginx_dir = tempfile.mkdtemp(prefix="gpupool-nginx-")
    os.chmod(nginx_dir, 0o755)  # nginx workers run as www-data
    os.makedirs(os.path.join(nginx_dir, "www"))
    with open(os.path.join(nginx_dir, "www", "status.json"), "w") as handle:
        handle.write('{"status": "ok", "padding": "' + "x" * 64 + '"}\n')
    nginx_port, gateway_port, chp_port = free_port(), free_port(), free_port()
    with open(os.path.join(nginx_dir, "nginx.conf"), "w") as handle:
        handle.write(f"worker_processes 1; pid {nginx_dir}/nginx.pid; error_log {nginx_dir}/error.log;\n"
                     "daemon off; events { worker_connections 4096; }\n"
                     f"http {{ access_log off; server {{ listen 127.0.0.1:{nginx_port};"
                     f" root {nginx_dir}/www; location / {{ try_files /status.json =404; }} }} }}\n")
    children.append(subprocess.Popen(["nginx", "-c", os.path.join(nginx_dir, "nginx.conf")]))
    harness = os.path.join(os.path.dirname(os.path.abspath(args.binary)), "bench", "gateway_harness")
    children.append(subprocess.Popen([harness,
                                      str(gateway_port), str(nginx_port), str(args.http_threads or 2)],
                                     stdout=subprocess.DEVNULL))
    children.append(subprocess.Popen([os.path.join(HERE, "node_modules", ".bin", "configurable-http-proxy"),
                                      "--ip", "127.0.0.1", "--port", str(chp_port), "--default-target",
                                      f"http://127.0.0.1:{nginx_port}", "--log-level", "warn",
                                      "--api-port", str(free_port())]))
    for target in (nginx_port, gateway_port, chp_port):
        wait_for(f"http://127.0.0.1:{target}/s/x/api")
    nginx = series("  nginx itself", args.runs, lambda: wrk(f"http://127.0.0.1:{nginx_port}/s/x/api", None, **load))
    chp = series("  configurable-http-proxy", args.runs,
                 lambda: wrk(f"http://127.0.0.1:{chp_port}/s/x/api", None, **load))
    ours = series("  gpupool gateway relay", args.runs,
                  lambda: wrk(f"http://127.0.0.1:{gateway_port}/s/x/api", None, **load))
    print(f"  gateway/CHP: {ours[0] / chp[0]:.2f}× the throughput, p99 {ours[1]:.2f} vs {chp[1]:.2f} ms "
          f"(nginx alone {nginx[0]:.0f} req/s)\n")


def part_c(args, base, token, sid, jupyter_port, port, jupyter_auth, bearer):
    print("(c) WebSocket: kernel_info round trips on one connection")
    kernel, _ = call(base, "POST", f"/s/{sid}/api/kernels", token, {})
    ws_direct = f"ws://127.0.0.1:{jupyter_port}/s/{sid}/api/kernels/{kernel['id']}/channels"
    ws_through = f"ws://127.0.0.1:{port}/s/{sid}/api/kernels/{kernel['id']}/channels"
    kernel_round_trips(ws_direct, jupyter_auth, 200)  # warm the kernel
    rates_direct = [kernel_round_trips(ws_direct, jupyter_auth, args.messages) for _ in range(args.runs)]
    rates_through = [kernel_round_trips(ws_through, bearer, args.messages) for _ in range(args.runs)]
    print(f"  direct to Jupyter                  {statistics.median(rates_direct):>10.0f} msg/s")
    print(f"  through the gateway                {statistics.median(rates_through):>10.0f} msg/s")
    print(f"  gateway/direct: {statistics.median(rates_through) / statistics.median(rates_direct):.1%}\n")


def memory_mib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


class ResidentPeak:
    """The highest resident memory of a process while the block runs, sampled every 20 ms
    (VmHWM would include the start's argon2 hashing, which takes 64 MiB at once)."""

    def __init__(self, pid):
        self.pid, self.peak, self.running = pid, 0.0, True

    def __enter__(self):
        self.thread = threading.Thread(target=self.sample)
        self.thread.start()
        return self

    def sample(self):
        while self.running:
            self.peak = max(self.peak, memory_mib(self.pid))
            time.sleep(0.02)

    def __exit__(self, *_):
        self.running = False
        self.thread.join()


def part_e(port, token, sid, gateway_pid):
    print(f"(e) uploads through the gateway; its resident memory before: {memory_mib(gateway_pid):.1f} MiB")
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    content = base64.b64encode(os.urandom(1 << 20)).decode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    began = time.time()
    with ResidentPeak(gateway_pid) as chunked:
        upload_in_chunks(connection, sid, headers, content)
    elapsed = time.time() - began
    print(f"  1 GiB in 1024 chunks: {elapsed:.1f} s ({1024 / elapsed:.0f} MiB/s of file, "
          f"{1024 * 4 / 3 / elapsed:.0f} MiB/s on the wire); resident at most {chunked.peak:.1f} MiB")
    began = time.time()
    with ResidentPeak(gateway_pid) as whole:
        answer = upload_in_one_request(port, sid, token, 256 << 20)
    print(f"  256 MiB in one request: {time.time() - began:.1f} s, answer \"{answer}\"; "
          f"resident at most {whole.peak:.1f} MiB")


def upload_in_chunks(connection, sid, headers, content):
    for number in range(1, 1025):
        body = json.dumps({"type": "file", "format": "base64", "chunk": -1 if number == 1024 else number,
                           "content": content})
        connection.request("PUT", f"/s/{sid}/api/contents/bench-upload.bin", body, headers)
        response = connection.getresponse()
        response.read()
        assert response.status in (200, 201), response.status


def upload_in_one_request(port, sid, token, size):
    raw = socket.create_connection(("127.0.0.1", port), timeout=120)
    raw.sendall((f"PUT /s/{sid}/api/contents/bench-raw.bin HTTP/1.1\r\nHost: x\r\n"
                 f"Authorization: Bearer {token}\r\nContent-Length: {size}\r\n\r\n").encode())
    piece = b"x" * (1 << 20)
    try:
        for _ in range(size >> 20):
            raw.sendall(piece)
        return raw.recv(200).split(b"\r\n")[0].decode()
    except OSError as error:
        return f"connection ended: {error}"
    finally:
        raw.close()


def part_f(args, load, base, token, sid, inspect):
    print("(f) a session's web app, GET /s/ID/apps/6006/ (Tornado, as Jupyter runs on)")
    user = next(e.split("=", 1)[1] for e in inspect["Config"]["Env"] if e.startswith("GPUPOOL_UID="))
    app = ("import tornado.ioloop, tornado.web\n"
           "class Hello(tornado.web.RequestHandler):\n"
           "    def get(self): self.write('hello')\n"
           "tornado.web.Application([(r'/', Hello)]).listen(6006, '0.0.0.0')\n"
           "tornado.ioloop.IOLoop.current().start()\n")
    subprocess.run(["docker", "exec", "-d", "-u", user, f"gpupool-{sid}", "python3", "-c", app], check=True)
    address = next(iter(inspect["NetworkSettings"]["Networks"].values()))["IPAddress"]
    wait_for(f"http://{address}:6006/")
    call(base, "POST", f"/api/v1/sessions/{sid}/apps", token, {"port": 6006})
    bearer = f"Authorization: Bearer {token}"
    direct = series("  direct to the container's port", args.runs,
                    lambda: wrk(f"http://{address}:6006/", None, **load))
    relayed = series("  through the gateway and app relay", args.runs,
                     lambda: wrk(f"{base}/s/{sid}/apps/6006/", bearer, **load))
    print(f"  relayed/direct: {relayed[0] / direct[0]:.1%} of the throughput, "
          f"p99 {relayed[1] - direct[1]:+.2f} ms\n")


def remove_bench_containers():
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.gpupool.node"], capture_output=True,
                         text=True).stdout.split()
    for container in ids:
        name = subprocess.run(["docker", "inspect", "-f", "{{index .Config.Labels \"io.gpupool.node\"}}", container],
                              capture_output=True, text=True).stdout.strip()
        if name.startswith("proxy-bench-"):
            subprocess.run(["docker", "rm", "-f", container], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
