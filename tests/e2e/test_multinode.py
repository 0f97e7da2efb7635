"""`gpupool server` with GPU servers that join it: three nodes, each in a network namespace of
its own with its own Docker engine and `gpupool agent`, reachable only over a bridge, and a
registry with a login beside the server. Joining with a token and a pinned certificate, the
image pushed once and pulled by each node on demand, sessions spread over the nodes, Jupyter
through the gateway and SSH straight to the node, credentials bound to their node, and a node
that goes silent and comes back."""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import (BINARY, Api, SSH_OPTIONS, docker, free_port, held_port_range, mint_token, ssh, wait_for_state)
from test_browser import BROWSER_TESTS, SCREENSHOTS, run_to_end
from nodes import (IMAGE_TAG, SERVER_ADDRESS, SLIM_IMAGE, NodeHost, Registry, ensure_bridge,
                   ensure_slim_image, remove_bridge)

ADMIN_PASSWORD = "mn-" + secrets.token_hex(8)
NODE_LOST_AFTER = 60
# A catalog entry whose registry does not answer: its sessions fail at the pull.
UNREACHABLE_TAG = "pytorch1.13-cpu-debian12-devel"
UNREACHABLE_IMAGE = f"{SERVER_ADDRESS}:9/gpupool/session:gone"
# A catalog entry every node pulls as soon as it joins.
PREPULLED_TAG = "pytorch1.13-cpu-debian12-base"
# SSH through the server's host, as for GPU servers on a private network.
SSH_GATEWAY_PORTS = held_port_range(16)


class Cluster:
    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="gpupool-e2e-multinode-")
        self.data_dir = os.path.join(self.work, "server")
        self.port = free_port()
        self.base = f"https://{SERVER_ADDRESS}:{self.port}"
        self.log_path = os.path.join(self.work, "server.log")
        self.homes = os.path.join(self.work, "homes")
        os.mkdir(self.homes, 0o755)
        self.registry = Registry(self.work, free_port())
        self.image = None  # the catalog image's reference in the registry
        self.prepulled = None  # a tiny one, pulled ahead
        self.nodes = [NodeHost(index, self.work, self.homes, self.registry.address) for index in (1, 2, 3)]
        # gpn3 removes images nothing has wanted for 10 s (the default is a day).
        self.nodes[2].agent_options = ["--image-gc-after", "10s"]
        self.server = None
        self.pin = None
        self.tls = None
        self.admin = None

    def server_command(self, data_dir, image):
        return [BINARY, "server", "--data-dir", data_dir, "--listen", f"{SERVER_ADDRESS}:{self.port}",
                "--public-host", SERVER_ADDRESS, "--session-ports", "8", "--image", f"{IMAGE_TAG}={image}",
                "--image", f"{UNREACHABLE_TAG}={UNREACHABLE_IMAGE}",
                "--image", f"{PREPULLED_TAG}={self.prepulled}", "--prepull", PREPULLED_TAG,
                "--registry-auth", self.registry.auth_file(os.path.join(self.work, "registry-auth.json")),
                "--insecure-registry", self.registry.address, "--node-lost-after", str(NODE_LOST_AFTER),
                "--ssh-gateway-ports", "{}-{}".format(*SSH_GATEWAY_PORTS),
                "--saved-images-registry", self.registry.address + "/saved"]

    def start_server(self):
        env = dict(os.environ, GPUPOOL_ADMIN_PASSWORD=ADMIN_PASSWORD)
        log = open(self.log_path, "a")
        self.server = subprocess.Popen(self.server_command(self.data_dir, self.image),
                                       stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        while not self.pin:
            assert self.server.poll() is None, "gpupool server exited:\n" + self.log()
            assert time.time() < deadline, "gpupool server did not start:\n" + self.log()
            found = re.search(r"--ca-sha256 (sha256:[0-9a-f]{64})", self.log())
            self.pin = found.group(1) if found else None
            time.sleep(0.2)
        self.tls = ssl.create_default_context(cafile=os.path.join(self.data_dir, "tls", "server.crt"))

    def log(self):
        with open(self.log_path) as handle:
            return handle.read()[-6000:]

    def restart_server(self):
        """Stops the server as an upgrade would (SIGTERM) and starts it again on its data."""
        self.server.terminate()
        self.server.wait(timeout=60)
        env = dict(os.environ, GPUPOOL_ADMIN_PASSWORD=ADMIN_PASSWORD)
        self.server = subprocess.Popen(self.server_command(self.data_dir, self.image),
                                       stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        while True:
            assert self.server.poll() is None, "gpupool server exited:\n" + self.log()
            try:
                if self.admin.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            assert time.time() < deadline, "gpupool server did not come back:\n" + self.log()
            time.sleep(0.2)

    def node_view(self, name):
        status, body = self.admin.get("/api/v1/nodes")
        assert status == 200, body
        return next((node for node in body["nodes"] if node["name"] == name), None)


@pytest.fixture(scope="module")
def cluster():
    ensure_slim_image()
    ensure_bridge()
    instance = Cluster()
    try:
        instance.registry.start()
        instance.image = instance.registry.push(SLIM_IMAGE, "gpupool/session:e2e-slim")
        instance.prepulled = instance.registry.push_tiny("gpupool/tiny:1")
        instance.start_server()
        instance.admin = Api(instance.base, mint_token(instance.base, "admin", ADMIN_PASSWORD, instance.tls),
                             tls_context=instance.tls)
        status, token = instance.admin.post("/api/v1/join-tokens", {"uses": 3, "description": "e2e"})
        assert status == 201, token
        for node in instance.nodes:
            node.create()
            node.start_agent(instance.base, instance.pin, token["token"])
        deadline = time.time() + 60
        while not all(instance.node_view(node.name) for node in instance.nodes):
            for node in instance.nodes:
                assert node.agent.poll() is None, f"agent of {node.name} exited:\n{node.log()}"
            assert time.time() < deadline, "nodes did not join:\n" + "\n".join(n.log() for n in instance.nodes)
            time.sleep(0.5)
        yield instance
    finally:
        for node in instance.nodes:
            node.destroy()
        if instance.server and instance.server.poll() is None:
            instance.server.terminate()
            instance.server.wait(timeout=30)
        print("--- server\n" + (instance.log() if os.path.exists(instance.log_path) else ""))
        instance.registry.stop()
        remove_bridge()
        shutil.rmtree(instance.work, ignore_errors=True)


@pytest.fixture(scope="module")
def user(cluster):
    name = "mn" + secrets.token_hex(3)
    password = "pw-" + secrets.token_hex(8)
    status, body = cluster.admin.post("/api/v1/users", {"username": name, "password": password})
    assert status == 201, body
    directory = tempfile.mkdtemp(prefix="gpupool-e2e-key-")
    key = os.path.join(directory, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    api = Api(cluster.base, mint_token(cluster.base, name, password, cluster.tls), tls_context=cluster.tls)
    with open(key + ".pub") as handle:
        status, body = api.call("PUT", "/api/v1/me/ssh-keys", {"keys": [handle.read().strip()]})
    assert status == 200, body
    api.key = key
    api.username = name
    yield api
    shutil.rmtree(directory, ignore_errors=True)


def test_nodes_join_with_a_token_over_a_pinned_certificate(cluster):
    status, body = cluster.admin.get("/api/v1/pool")
    assert status == 200, body
    assert sum(model["total"] for model in body["gpu_models"]) == 6, body
    for node in cluster.nodes:
        with open(os.path.join(node.state_dir, "node-credential")) as handle:
            assert handle.read().strip()
        assert os.stat(os.path.join(node.state_dir, "node-credential")).st_mode & 0o077 == 0
    status, body = cluster.admin.get("/api/v1/join-tokens")
    assert [token["state"] for token in body["join_tokens"]] == ["used up"], body


def test_the_portal_shows_every_node_of_the_pool(cluster):
    # Each node's engine is this machine's dockerd, started once per node.
    engine = "Docker " + docker("version", "--format", "{{.Server.Version}}").stdout.strip() + " (API "
    returncode, output = run_to_end(["node", "pool.mjs", cluster.base, ADMIN_PASSWORD,
                                     os.path.join(SCREENSHOTS, "multinode-nodes.png"),
                                     *(f"{node.name}@host={node.name}@{engine}" for node in cluster.nodes)],
                                    BROWSER_TESTS, timeout=330)
    assert returncode == 0 and "pool: ok" in output, output


def node_states(cluster):
    status, body = cluster.admin.get("/api/v1/nodes")
    assert status == 200, body
    return {node["name"]: node["state"] for node in body["nodes"]}


def test_a_drained_node_shows_as_draining_and_takes_nothing_new(cluster):
    name = cluster.nodes[0].name
    assert set(node_states(cluster).values()) == {"ready"}
    status, body = cluster.admin.call("PUT", f"/api/v1/nodes/{name}", {"drained": True})
    assert status == 200, body
    try:
        states = node_states(cluster)
        assert states[name] == "draining", states
        assert all(state == "ready" for node, state in states.items() if node != name), states
        status, body = cluster.admin.get("/api/v1/pool")
        assert sum(model["free"] for model in body["gpu_models"]) == 4, body
    finally:
        status, body = cluster.admin.call("PUT", f"/api/v1/nodes/{name}", {"drained": False})
        assert status == 200, body
    assert node_states(cluster)[name] == "ready"


def test_an_agent_refuses_a_server_whose_certificate_does_not_match_the_pin(cluster):
    wrong_pin = "sha256:" + "0" * 64
    result = subprocess.run(
        cluster.nodes[0].in_netns(BINARY, "agent", "--server", cluster.base, "--ca-sha256", wrong_pin,
                                  "--state-dir", tempfile.mkdtemp(), "--node-name", "intruder",
                                  "--join-token", "abcd.efgh", "--engine", cluster.nodes[0].engine),
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "does not match the pin" in result.stdout + result.stderr


def test_the_catalog_image_is_pinned_to_what_the_registry_holds(cluster, user):
    status, body = user.get("/api/v1/images")
    assert status == 200, body
    image = next(image for image in body["images"] if image["tag"] == IMAGE_TAG)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image["digest"] or ""), image
    assert image["reference"] == cluster.registry.address + "/gpupool/session@" + image["digest"], image
    unreachable = next(image for image in body["images"] if image["tag"] == UNREACHABLE_TAG)
    assert unreachable["reference"] == UNREACHABLE_IMAGE and unreachable["digest"] is None, unreachable
    assert "is not pinned to a digest" in cluster.log()


def catalog_reference(api, tag):
    status, body = api.get("/api/v1/images")
    assert status == 200, body
    return next(image["reference"] for image in body["images"] if image["tag"] == tag)


def test_an_image_marked_for_it_is_pulled_to_every_node_ahead_of_need(cluster, user):
    reference = catalog_reference(user, PREPULLED_TAG)
    assert "@sha256:" in reference
    deadline = time.time() + 120
    while not all(node.has_image(reference) for node in cluster.nodes):
        assert time.time() < deadline, "\n".join(node.log() for node in cluster.nodes)
        time.sleep(0.5)


def test_a_server_refuses_an_image_its_registry_does_not_have(cluster):
    result = subprocess.run(cluster.server_command(os.path.join(cluster.work, "refusing"),
                                                   cluster.registry.address + "/gpupool/session:no-such-tag"),
                            capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, GPUPOOL_ADMIN_PASSWORD=ADMIN_PASSWORD))
    assert result.returncode != 0
    assert "has no gpupool/session:no-such-tag" in result.stdout + result.stderr, result.stdout + result.stderr


def watch_until_running(user, session_ids, timeout=300):
    """Waits for the sessions to run, noting every reason each gave while starting."""
    seen = {session_id: set() for session_id in session_ids}
    deadline = time.time() + timeout
    pending = set(session_ids)
    views = {}
    while pending:
        assert time.time() < deadline, f"not running: {[views.get(i) for i in pending]}"
        for session_id in list(pending):
            status, body = user.get(f"/api/v1/sessions/{session_id}")
            assert status == 200, body
            assert body["state"] != "ended", body
            seen[session_id].add(body["reason"] or "")
            views[session_id] = body
            if body["state"] == "running":
                pending.discard(session_id)
        time.sleep(0.2)
    return [views[session_id] for session_id in session_ids], seen


def test_sessions_spread_over_the_nodes_each_pulling_the_image_with_jupyter_and_ssh(cluster, user):
    reference = catalog_reference(user, IMAGE_TAG)
    assert not any(node.has_image(reference) for node in cluster.nodes), "nodes start without it"
    ids = []
    for _ in cluster.nodes:
        status, body = user.post("/api/v1/sessions", {"gpus": 2})
        assert status == 201, body
        ids.append(body["id"])
    sessions, reasons = watch_until_running(user, ids)
    assert sorted(session["node"] for session in sessions) == [node.name for node in cluster.nodes]
    # Each node pulled it with the server's login, and the session said so while it did.
    pulled = [reason for seen in reasons.values() for reason in seen if reason.startswith("pulling image: ")]
    assert pulled, reasons
    assert all(re.fullmatch(r"pulling image: [0-9.]+ [kMG]?B of [0-9.]+ [kMG]?B, \d+ of \d+ layers", text)
               for text in pulled), pulled
    assert all(node.has_image(reference) for node in cluster.nodes)
    gateway_ports = set()
    for session in sessions:
        node = next(node for node in cluster.nodes if node.name == session["node"])
        # SSH through the server's host, relayed to the node; and straight to the node.
        assert session["ssh"]["host"] == SERVER_ADDRESS, session["ssh"]
        assert SSH_GATEWAY_PORTS[0] <= session["ssh"]["port"] <= SSH_GATEWAY_PORTS[1], session["ssh"]
        gateway_ports.add(session["ssh"]["port"])
        assert session["ssh"]["direct"]["host"] == node.address, session["ssh"]
        assert f"Port {session['ssh']['port']}" in session["ssh"]["config"], session["ssh"]
        # Jupyter through the gateway, which reaches it on the node's own address.
        status, body = user.get(f"/s/{session['id']}/api")
        assert status == 200 and "version" in body, body
        result = ssh(session, user.key, "hostname; id -u")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[0] == session["id"], result.stdout
        # A web app started over SSH, exposed: through the gateway and the node's app relay.
        result = ssh(session, user.key, "mkdir -p ~/site && hostname > ~/site/name.txt && "
                     "(setsid nohup python3 -m http.server 6006 -d ~/site >/dev/null 2>&1 &)")
        assert result.returncode == 0, result.stderr
        assert user.post(f"/api/v1/sessions/{session['id']}/apps", {"port": 6006})[0] == 201
        deadline = time.time() + 30
        while (answer := fetch_text(user, f"/s/{session['id']}/apps/6006/name.txt"))[0] != 200:
            assert time.time() < deadline, answer
            time.sleep(0.3)
        assert answer[1].strip() == session["id"], answer
        # The relay answers the server, never a session: the node's firewall refuses it.
        relay = relay_address(node)
        socket.create_connection(relay, timeout=10).close()
        result = ssh(session, user.key, "python3 -c 'import socket, sys; socket.create_connection"
                     f"((sys.argv[1], int(sys.argv[2])), timeout=10)' {relay[0]} {relay[1]}")
        refused = ("Connection refused", "No route to host")  # the firewall's REJECT, not a timeout
        assert result.returncode != 0 and any(why in result.stderr for why in refused), result
        direct = dict(session, ssh=dict(session["ssh"], **session["ssh"]["direct"]))
        result = ssh(direct, user.key, "hostname")
        assert result.returncode == 0 and result.stdout.strip() == session["id"], result.stderr
        # The node's own port is published on the node's address only: not on the server's.
        assert subprocess.run(["ssh", *SSH_OPTIONS, "-o", "BatchMode=yes", "-i", user.key,
                               "-p", str(session["ssh"]["direct"]["port"]), f"x@{SERVER_ADDRESS}", "true"],
                              capture_output=True, timeout=30).returncode != 0
    assert len(gateway_ports) == len(sessions), "each session its own port on the gateway"
    # A gateway port no session holds leads nowhere.
    idle = next(port for port in range(SSH_GATEWAY_PORTS[0], SSH_GATEWAY_PORTS[1] + 1) if port not in gateway_ports)
    assert subprocess.run(["ssh", *SSH_OPTIONS, "-o", "BatchMode=yes", "-i", user.key, "-p", str(idle),
                           f"{user.username}@{SERVER_ADDRESS}", "true"], capture_output=True, timeout=30).returncode != 0
    for session_id in ids:
        assert user.call("DELETE", f"/api/v1/sessions/{session_id}")[0] == 200
    for session_id in ids:
        wait_for_state(user, session_id, {"ended"})
    deadline = time.time() + 60
    while any(node.containers() for node in cluster.nodes):
        assert time.time() < deadline, "containers left behind"
        time.sleep(0.5)


def relay_address(node):
    """Where the node's agent relays web apps, as its log says at start."""
    with open(node.agent_log) as handle:
        found = re.findall(r"app relay: sessions' web apps reached at ([0-9.]+):(\d+)", handle.read())
    assert found, f"no app relay in {node.agent_log}"
    return found[-1][0], int(found[-1][1])


def fetch_text(api, path):
    """(status, text) of a GET with the API's token; for answers that are not JSON."""
    request = urllib.request.Request(api.base + path, headers={"Authorization": "Bearer " + api.token})
    try:
        with urllib.request.urlopen(request, timeout=30, context=api.tls_context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def session_on(user, node, image=None):
    request = {"gpus": 1, "node_selector": {"host": node.name}}
    if image:
        request["image"] = image
    status, body = user.post("/api/v1/sessions", request)
    assert status == 201, body
    session = wait_for_state(user, body["id"], {"running"})
    assert session["node"] == node.name
    return session


def end(user, session):
    assert user.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] == 200
    wait_for_state(user, session["id"], {"ended"})


def test_a_home_on_the_shared_root_follows_the_user_to_another_node(cluster, user):
    first, second = cluster.nodes[0], cluster.nodes[1]
    session = session_on(user, first)
    assert session["home"] == {"shared": True, "node": None, "earlier_home_node": None}, session["home"]
    result = ssh(session, user.key, "echo written-on-gpn1 > ~/carried.txt; id -u")
    assert result.returncode == 0, result.stderr
    uid = int(result.stdout.strip())
    home = os.path.join(cluster.homes, user.username)
    # Made by the agent on first use: the user's, private.
    assert os.stat(home).st_uid == uid and os.stat(home).st_mode & 0o777 == 0o700
    assert os.stat(os.path.join(home, "carried.txt")).st_uid == uid
    end(user, session)

    session = session_on(user, second)
    result = ssh(session, user.key, "cat ~/carried.txt")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "written-on-gpn1"
    end(user, session)


def test_a_saved_session_starts_on_another_node_with_what_the_user_wrote_outside_the_home(cluster, user):
    first, second = cluster.nodes[0], cluster.nodes[1]
    session = session_on(user, first)
    result = ssh(session, user.key, "echo made-on-gpn1 > /var/tmp/setup.txt")
    assert result.returncode == 0, result.stderr
    status, save = user.post(f"/api/v1/sessions/{session['id']}/image", {"name": "moved"})
    assert status == 202, save
    tag = f"{user.username}/moved"
    deadline = time.time() + 300
    while True:
        mine = user.get("/api/v1/my-images")[1]
        assert not [s for s in mine["saves"] if s["state"] == "failed"], mine
        image = next((image for image in mine["images"] if image["tag"] == tag), None)
        if image and image["check"]["state"] == "passed":
            break
        assert time.time() < deadline, f"not saved:\n{mine}\n{first.log()}"
        time.sleep(1)
    end(user, session)

    session = session_on(user, second, image=tag)
    result = ssh(session, user.key, "cat /var/tmp/setup.txt")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "made-on-gpn1"
    end(user, session)
    assert user.call("DELETE", "/api/v1/my-images/moved")[0] == 200


def test_a_node_removes_images_nothing_wants_keeps_pre_pulled_ones_and_reports_its_disk(cluster, user):
    node = cluster.nodes[2]
    reference = catalog_reference(user, IMAGE_TAG)
    session = session_on(user, node)
    assert node.has_image(reference)
    end(user, session)
    deadline = time.time() + 90
    # The agent logs the removal once the engine has answered it: both, then.
    while node.has_image(reference) or "removed unused image" not in node.log():
        assert time.time() < deadline, f"{reference} stayed on {node.name}:\n{node.log()}"
        time.sleep(1)
    assert node.has_image(catalog_reference(user, PREPULLED_TAG)), "an image marked for pre-pull stays"
    deadline = time.time() + 30
    while not (cluster.node_view(node.name)["disk"] or {}).get("images_collected"):
        assert time.time() < deadline, cluster.node_view(node.name)
        time.sleep(1)
    disk = cluster.node_view(node.name)["disk"]
    assert disk["collected_bytes"] > 0 and disk["images_bytes"] > 0 and disk["free_bytes"] > 0, disk
    request = urllib.request.Request(cluster.base + "/metrics",
                                     headers={"Authorization": "Bearer " + cluster.admin.token})
    with urllib.request.urlopen(request, timeout=30, context=cluster.tls) as response:
        metrics = response.read().decode()
    assert f'gpupool_node_disk_bytes{{node="{node.name}",kind="images"}}' in metrics, metrics[-3000:]
    # Wanted again: pulled again.
    end(user, session_on(user, node))


def test_a_pull_that_fails_ends_the_session_failed_with_the_registrys_words_and_bills_nothing(cluster, user):
    status, body = user.post("/api/v1/sessions", {"gpus": 1, "image": UNREACHABLE_TAG})
    assert status == 201, body
    ended = wait_for_state(user, body["id"], {"ended"}, timeout=120)
    assert ended["end_reason"] == "failed", ended
    assert "connection refused" in ended["reason"], ended
    assert ended["cost"]["billed_seconds"] == 0 and not ended["started_at"], ended


def test_a_dataset_lent_to_a_group_is_read_only_in_its_members_sessions_only(cluster, user):
    lent, withheld = (os.path.join(cluster.work, "datasets", name) for name in ("mnist", "secret"))
    for directory in (lent, withheld):
        os.makedirs(directory)
        with open(os.path.join(directory, "train.txt"), "w") as handle:
            handle.write("digits\n")
    members, others = "ds" + secrets.token_hex(3), "ds" + secrets.token_hex(3)
    for group in (members, others):
        assert cluster.admin.post("/api/v1/groups", {"name": group})[0] == 201
    assert cluster.admin.call("PUT", f"/api/v1/groups/{members}/members", {"users": [user.username]})[0] == 200
    for name, path, group in (("mnist", lent, members), ("secret", withheld, others)):
        status, body = cluster.admin.call("PUT", f"/api/v1/datasets/{name}", {"path": path, "groups": [group]})
        assert status == 200, body
    session = session_on(user, cluster.nodes[2])
    result = ssh(session, user.key, "cat /datasets/mnist/train.txt; touch /datasets/mnist/mine 2>&1; ls /datasets")
    assert result.returncode == 0, result.stderr
    assert "digits" in result.stdout and "Read-only file system" in result.stdout, result.stdout
    assert "secret" not in result.stdout, result.stdout
    assert not os.path.exists(os.path.join(lent, "mine"))
    end(user, session)


def test_a_rolling_restart_of_the_server_and_each_agent_interrupts_no_session(cluster, user):
    sessions = [session_on(user, node) for node in cluster.nodes]
    for session in sessions:  # work under way, which must outlive every restart
        result = ssh(session, user.key, "nohup sleep 100000 >/dev/null 2>&1 & echo started")
        assert result.returncode == 0, result.stderr
    containers = {node.name: sorted(node.containers()) for node in cluster.nodes}
    began = time.time()

    cluster.restart_server()
    old_agent = cluster.nodes[0]  # comes back as the previous release's agent: no long poll
    for node in cluster.nodes:
        last_seen = cluster.node_view(node.name)["last_seen"]
        node.kill_agent(signal.SIGTERM)
        older = ["--sync-protocol", "1", "--heartbeat", "1"] if node is old_agent else []
        node.start_agent(cluster.base, cluster.pin, extra=older)
        deadline = time.time() + 60
        while cluster.node_view(node.name)["last_seen"] == last_seen:
            assert time.time() < deadline, f"{node.name} did not come back:\n{node.log()}"
            time.sleep(0.5)
        assert cluster.node_view(node.name)["state"] == "ready"

    for before in sessions:
        status, now = user.get(f"/api/v1/sessions/{before['id']}")
        assert status == 200, now
        assert now["state"] == "running" and now["started_at"] == before["started_at"], now
        assert (now["node"], now["gpus"]["indices"], now["ssh"]) == \
            (before["node"], before["gpus"]["indices"], before["ssh"]), now
        assert now["restarts"]["count"] == 0, now
        assert now["cost"]["billed_seconds"] >= time.time() - began - 2, now["cost"]
        assert user.get(f"/s/{now['id']}/api")[0] == 200
        result = ssh(now, user.key, "pgrep -x sleep")
        assert result.returncode == 0, "the session's processes did not survive"
    assert {node.name: sorted(node.containers()) for node in cluster.nodes} == containers, "containers replaced"
    status, body = cluster.admin.get("/api/v1/sessions?all=true")
    held = [(s["node"], index) for s in body["sessions"] if s["state"] != "ended" for index in s["gpus"]["indices"]]
    assert len(held) == len(set(held)), f"a GPU given twice: {held}"
    for session in sessions:
        end(user, session)
    # Admins see which agent the upgrade has still to reach.
    assert [(cluster.node_view(node.name)["agent_protocol"], cluster.node_view(node.name)["agent_outdated"])
            for node in cluster.nodes] == [(1, True), (2, False), (2, False)]
    # The agent one version behind still takes new sessions, and ends them.
    session = session_on(user, old_agent)
    assert user.get(f"/s/{session['id']}/api")[0] == 200
    end(user, session)
    deadline = time.time() + 30
    while old_agent.containers():
        assert time.time() < deadline, "the older agent did not remove the ended session"
        time.sleep(0.5)


def test_a_node_credential_reports_for_its_own_node_only(cluster):
    first, second = cluster.nodes[0], cluster.nodes[1]
    with open(os.path.join(first.state_dir, "node-credential")) as handle:
        credential = handle.read().strip()
    report = {"protocol": 1, "node": {"name": second.name, "gpus": []}, "observed": []}
    status, body = Api(cluster.base, credential, tls_context=cluster.tls).post("/api/v1/agent/sync", report)
    assert status == 403, body
    status, body = Api(cluster.base, "forged-" + secrets.token_hex(16), tls_context=cluster.tls).post(
        "/api/v1/agent/sync", report)
    assert status == 401, body


def test_a_silent_node_loses_its_sessions_and_gets_them_cleaned_up_when_back(cluster, user):
    node = cluster.nodes[2]
    status, _ = cluster.admin.call("PUT", f"/api/v1/nodes/{cluster.nodes[0].name}", {"drained": True})
    assert status == 200
    status, _ = cluster.admin.call("PUT", f"/api/v1/nodes/{cluster.nodes[1].name}", {"drained": True})
    assert status == 200
    try:
        status, body = user.post("/api/v1/sessions", {"gpus": 1})
        assert status == 201, body
        session = wait_for_state(user, body["id"], {"running"})
        assert session["node"] == node.name
        node.kill_agent()
        silent_at = time.time()
        ended = wait_for_state(user, session["id"], {"ended"}, timeout=NODE_LOST_AFTER + 60)
        assert ended["end_reason"] == "node_lost", ended
        # Billed up to the node's last report, not up to when the server noticed.
        assert ended["ended_at"] and time.time() - silent_at >= NODE_LOST_AFTER - 5
        assert node.containers(), "the container runs on while its agent is away"
        view = cluster.node_view(node.name)
        assert view is not None
        node.start_agent(cluster.base, cluster.pin)  # its kept credential: no token needed
        deadline = time.time() + 60
        while node.containers():
            assert time.time() < deadline, "the agent did not remove what should not run:\n" + node.log()
            time.sleep(0.5)
    finally:
        for other in cluster.nodes[:2]:
            cluster.admin.call("PUT", f"/api/v1/nodes/{other.name}", {"drained": False})


def test_a_removed_node_is_refused_with_its_revoked_credential_and_takes_nothing(cluster, user):
    node = cluster.nodes[1]
    with open(os.path.join(node.state_dir, "node-credential")) as handle:
        credential = handle.read().strip()
    status, body = cluster.admin.call("DELETE", f"/api/v1/nodes/{node.name}")
    assert status == 200 and body["credentials_revoked"] >= 1, body
    assert cluster.node_view(node.name)["state"] == "removed"
    report = {"protocol": 1, "node": {"name": node.name, "gpus": []}, "observed": []}
    status, body = Api(cluster.base, credential, tls_context=cluster.tls).post("/api/v1/agent/sync", report)
    assert status == 401, body
    # Its running agent is refused from its next sync on, and nothing new is placed there.
    deadline = time.time() + 30
    while "refused" not in node.log():
        assert time.time() < deadline, "the agent was not refused:\n" + node.log()
        time.sleep(0.5)
    status, body = user.post("/api/v1/sessions", {"gpus": 1, "node_selector": {"host": node.name}})
    assert status in (201, 409, 422), body
    if status == 201:
        time.sleep(3)
        status, now = user.get(f"/api/v1/sessions/{body['id']}")
        assert now["state"] == "queued" and not now.get("node"), now
        assert user.call("DELETE", f"/api/v1/sessions/{now['id']}")[0] == 200
