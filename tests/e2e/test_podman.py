"""gpupool on Podman's Docker-compatible service (Debian 12's Podman 4.3) instead of Docker:
sessions run, and are islands, as on Docker; a node with real GPUs is refused, since this
Podman accepts a GPU request and starts the container without the GPU (docs/gpu.md). The
firewall is the host's, so this file runs alone (RUN_SERIAL in CTest)."""
import os
import resource
import secrets
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import (ADMIN_PASSWORD, Api, Server, listed_node, mint_token, probe, wait_for_state,
                      wait_until_open)

IMAGE = "gpupool/session:pytorch1.13-cpu-debian12-runtime"


class Podman:
    def __init__(self, directory):
        self.directory = directory
        self.socket = "unix://" + os.path.join(directory, "podman.sock")
        self.process = None

    def command(self, *args):
        return ["podman", "--root", os.path.join(self.directory, "root"),
                "--runroot", os.path.join(self.directory, "run"), *args]

    def run(self, *args):
        return subprocess.run(self.command(*args), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def podman():
    """Podman's service with storage of its own, holding the default session image."""
    engine = Podman(tempfile.mkdtemp(prefix="gpupool-e2e-podman-"))
    # Podman gives root's containers higher limits than this test machine's hard ones, which
    # runc then cannot set; a GPU server's own limits are usually higher.
    settings = os.path.join(engine.directory, "containers.conf")
    open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with open(settings, "w") as conf:
        conf.write(f'[containers]\ndefault_ulimits = ["nofile={open_files}:{open_files}", "nproc=4096:4096"]\n')
    engine.process = subprocess.Popen(engine.command("system", "service", "--time=0", engine.socket),
                                      env={**os.environ, "CONTAINERS_CONF": settings},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while not os.path.exists(engine.socket[len("unix://"):]) and time.time() < deadline:
        assert engine.process.poll() is None, "podman system service exited"
        time.sleep(0.1)
    saved = subprocess.Popen(["docker", "save", IMAGE], stdout=subprocess.PIPE)
    loaded = subprocess.run(engine.command("load"), stdin=saved.stdout, capture_output=True, text=True)
    assert saved.wait() == 0 and loaded.returncode == 0, loaded.stderr
    yield engine
    engine.run("rm", "-af")  # takes their network rules off the host's firewall
    engine.process.terminate()
    engine.process.wait(timeout=30)
    engine.run("system", "reset", "--force")  # unmounts its storage, which rmtree cannot remove
    shutil.rmtree(engine.directory, ignore_errors=True)


def test_a_node_with_real_gpus_is_refused_on_a_podman_that_drops_gpu_requests(real_gpus_env, podman):
    refusals = {
        (): "Podman 4.3.1 (API 1.41) drops GPU requests made through its Docker-compatible API",
        ("--gpu-devices", "nvidia"): "Podman's Docker-compatible API ignores the nvidia device driver",
    }
    for extra, said in refusals.items():
        server = Server(gpus=(), env=real_gpus_env, extra_args=["--engine", podman.socket, *extra])
        try:
            with pytest.raises(AssertionError, match="gpupool up exited"):
                server.start()
            assert said in server.log(), server.log()
        finally:
            server.stop()
            shutil.rmtree(server.data_dir, ignore_errors=True)


def new_user(server, admin):
    name = "pod" + secrets.token_hex(3)
    password = "pw-" + secrets.token_hex(8)
    status, body = admin.post("/api/v1/users", {"username": name, "password": password})
    assert status == 201, body
    api = Api(server.base, mint_token(server.base, name, password))
    status, session = api.post("/api/v1/sessions", {"gpus": 1, "cpus": 0.5, "memory_gb": 1})
    assert status == 201, session
    return api, wait_for_state(api, session["id"], {"running"})


def address_of(podman, session):
    """The container's address on its own network, and that network's gateway (this host)."""
    name = f"gpupool-{session['id']}"
    shown = podman.run("inspect", "--format",
                       "{{(index .NetworkSettings.Networks \"" + name + "\").IPAddress}} "
                       "{{(index .NetworkSettings.Networks \"" + name + "\").Gateway}}", name)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.split()


def test_sessions_run_on_podman_and_reach_neither_each_other_nor_the_host(podman, host_service):
    server = Server(extra_args=["--engine", podman.socket, "--session-subnets", "10.214.0.0/16"])
    server.start()
    try:
        assert "container engine at " + podman.socket + ": Podman 4.3.1" in server.log()
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
        node = listed_node(admin, server.node)
        assert node["engine"] == "Podman 4.3.1 (API 1.41)" and node["gpu_devices"] is None, node
        alice, mine = new_user(server, admin)
        _, theirs = new_user(server, admin)
        _, gateway = address_of(podman, mine)
        their_address, _ = address_of(podman, theirs)
        # Controls: from the host, the other session's Jupyter and the host service answer.
        assert wait_until_open(their_address, 8888) and wait_until_open(gateway, host_service)

        # Through the gateway into the session's Jupyter kernel, as on Docker.
        seen = probe(mine, alice, [("127.0.0.1", 8888), (their_address, 8888), (their_address, 2222),
                                   (gateway, theirs["ssh"]["port"]), (gateway, host_service)])
        assert seen.pop("127.0.0.1:8888") == "open"
        assert all(outcome != "open" for outcome in seen.values()), seen
        # The host's services refuse at once (gpupool's rules); Podman's own isolation between
        # its bridges drops what goes from one session's network to another's before them.
        assert seen[f"{gateway}:{host_service}"] not in ("timeout", "TimeoutError"), seen
    finally:
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)
