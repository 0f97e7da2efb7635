"""Monitoring against real parts: Debian's Prometheus scrapes a real `gpupool up` with a busy
session, an idle one that idle reclaim ends, prices and a group; every query of the Grafana
dashboard (deploy/grafana) must then return data from it, the alert rules
(deploy/prometheus/alerts.yml) must load and evaluate cleanly, and the dashboard's JSON must
have the fields Grafana's dashboard schema requires. Grafana itself is not in Debian: how
panels render stays unchecked."""
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ADMIN_PASSWORD, Api, Server, docker, free_port, mint_token, remove_containers, wait_for_state

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "dashboards", "gpupool.json")
ALERTS = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")
PANEL_TYPES = {"timeseries", "stat", "heatmap", "table", "bargauge", "gauge", "text", "row"}
# What Grafana puts in for its own variables, at the scale of this short run.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "5m"}


@pytest.fixture(scope="module")
def monitored():
    work = tempfile.mkdtemp(prefix="gpupool-e2e-monitoring-")
    readings = os.path.join(work, "gpu-readings.json")
    server = Server(extra_args=["--idle-window", "10s", "--idle-grace", "5s", "--activity-interval", "1",
                                "--simulated-gpu-readings", readings])
    server.start()
    admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
    token_file = os.path.join(work, "token")
    with open(token_file, "w") as handle:
        handle.write(admin.token)
    os.chmod(token_file, 0o600)
    port = free_port()
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as handle:
        handle.write(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{os.path.abspath(ALERTS)}"]
scrape_configs:
  - job_name: gpupool
    authorization: {{type: Bearer, credentials_file: "{token_file}"}}
    static_configs: [{{targets: ["127.0.0.1:{server.port}"]}}]
""")
    log = open(os.path.join(work, "prometheus.log"), "w")
    prometheus = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={work}/tsdb",
                                   f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    yield server, admin, readings, f"http://127.0.0.1:{port}"
    prometheus.terminate()
    prometheus.wait(timeout=30)
    server.stop()
    remove_containers(server)
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(server.data_dir, ignore_errors=True)


def query(prometheus, expr):
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=30) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


def wait_until(what, check, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            result = check()
        except OSError:  # Prometheus not listening yet
            result = None
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def dashboard_queries():
    with open(DASHBOARD) as handle:
        dashboard = json.load(handle)
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            yield panel["title"], target["refId"], expr


def test_the_dashboard_json_has_what_grafanas_schema_requires():
    with open(DASHBOARD) as handle:
        dashboard = json.load(handle)
    for field, kind in {"title": str, "uid": str, "schemaVersion": int, "panels": list, "time": dict,
                        "templating": dict}.items():
        assert isinstance(dashboard.get(field), kind), field
    assert any(variable["name"] == "datasource" and variable["type"] == "datasource"
               for variable in dashboard["templating"]["list"])
    ids = set()
    for panel in dashboard["panels"]:
        assert isinstance(panel["id"], int) and panel["id"] not in ids, panel
        ids.add(panel["id"])
        assert panel["type"] in PANEL_TYPES and panel["title"], panel
        grid = panel["gridPos"]
        assert all(isinstance(grid[key], int) for key in "xywh") and grid["x"] + grid["w"] <= 24, panel
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel
        assert all(target["expr"].strip() for target in panel["targets"]), panel
        assert panel["datasource"]["uid"] == "${datasource}", panel


def test_every_dashboard_query_returns_data_from_a_real_gpupool(monitored):
    server, admin, readings, prometheus = monitored
    assert admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 2})[0] == 200
    group = "mon" + secrets.token_hex(3)
    name, password = "mon" + secrets.token_hex(3), "pw-" + secrets.token_hex(8)
    assert admin.post("/api/v1/users", {"username": name, "password": password})[0] == 201
    assert admin.post("/api/v1/groups", {"name": group})[0] == 201
    assert admin.call("PUT", f"/api/v1/groups/{group}/members", {"users": [name]})[0] == 200
    assert admin.post(f"/api/v1/users/{name}/balance",
                      {"amount": 100, "idempotency_key": secrets.token_hex(8)})[0] in (200, 201)
    user = Api(server.base, mint_token(server.base, name, password))
    try:
        status, busy = user.post("/api/v1/sessions", {"gpus": 1, "cpus": 0.5, "memory_gb": 1})
        assert status == 201, busy
        status, idle = user.post("/api/v1/sessions", {"gpu_memory_gb": 1, "cpus": 0.5, "memory_gb": 1})
        assert status == 201, idle
        busy = wait_for_state(user, busy["id"], {"running"})
        # The busy session's process keeps its GPU at 70%, as the driver would say.
        pid = docker("inspect", "-f", "{{.State.Pid}}", "gpupool-" + busy["id"]).stdout.strip()
        gpu = busy["gpus"]["indices"][0]
        with open(readings + ".tmp", "w") as handle:
            json.dump({"gpus": [{"index": gpu, "utilization_percent": 70, "memory_used_mb": 2048,
                                 "processes": [{"pid": int(pid), "utilization_percent": 70,
                                                "memory_used_mb": 2048}]}]}, handle)
        os.replace(readings + ".tmp", readings)
        ended = wait_for_state(user, idle["id"], {"ended"}, timeout=90)
        assert ended["end_reason"] == "idle_reclaimed", ended

        # Prometheus has scraped the pool since before the reclaim, and a whole minute has
        # begun since (the range panels sample each minute).
        first = wait_until("the first scrape", lambda: query(prometheus, 'up{job="gpupool"} == 1'), 60)
        started = float(first[0]["value"][0])
        wait_until("a minute boundary", lambda: time.time() // 60 > started // 60 and time.time() % 60 > 5, 75)
        wait_until("the busy session's GPU use", lambda: query(
            prometheus, f'gpupool_session_gpu_utilization_ratio{{session="{busy["id"]}",group="{group}"}} > 0.5'), 30)

        empty = [f"{title} / {ref}: {expr}" for title, ref, expr in dashboard_queries() if not query(prometheus, expr)]
        assert not empty, "queries that returned nothing:\n" + "\n".join(empty)

        rules = json.loads(urllib.request.urlopen(f"{prometheus}/api/v1/rules", timeout=30).read())
        loaded = [rule for group in rules["data"]["groups"] for rule in group["rules"]]
        assert len(loaded) == 5, loaded
        assert all(rule["health"] == "ok" for rule in loaded), loaded
    finally:
        for session in user.get("/api/v1/sessions")[1]["sessions"]:
            user.call("DELETE", f"/api/v1/sessions/{session['id']}")
        docker("volume", "rm", "-f", "gpupool-home-" + name)
