"""How a node with real GPUs has its engine hand sessions their GPUs (--gpu-devices), against
real engines: a node starts only where the GPUs really reach the containers. The GPUs are the
stand-in NVML's (tests/fakes/fake_nvml.cpp), the toolkit a script answering its version; the
engines are this machine's Docker (no CDI, no NVIDIA driver) and Podman (4.3: its
Docker-compatible API drops GPU requests)."""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import ADMIN_PASSWORD, Api, Server, mint_token, remove_containers, wait_for_state


@pytest.fixture(scope="module")
def real_gpus_env():
    """NVML that finds two H100s, and an NVIDIA container toolkit without known escapes."""
    directory = tempfile.mkdtemp(prefix="gpupool-e2e-gpus-")
    os.symlink(os.environ["GPUPOOL_FAKE_NVML"], os.path.join(directory, "libnvidia-ml.so.1"))
    toolkit = os.path.join(directory, "nvidia-ctk")
    with open(toolkit, "w") as script:
        script.write("#!/bin/sh\necho 'NVIDIA Container Toolkit CLI version 1.17.8'\n")
    os.chmod(toolkit, 0o755)
    yield {"LD_LIBRARY_PATH": directory, "PATH": directory + ":" + os.environ["PATH"]}
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def podman_socket():
    """Podman's Docker-compatible service, with storage of its own."""
    directory = tempfile.mkdtemp(prefix="gpupool-e2e-podman-")
    socket_path = os.path.join(directory, "podman.sock")
    service = subprocess.Popen(
        ["podman", "--root", os.path.join(directory, "root"), "--runroot", os.path.join(directory, "run"),
         "system", "service", "--time=0", "unix://" + socket_path],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while not os.path.exists(socket_path) and time.time() < deadline:
        assert service.poll() is None, "podman system service exited"
        time.sleep(0.1)
    assert os.path.exists(socket_path), "podman system service did not listen"
    yield "unix://" + socket_path
    service.terminate()
    service.wait(timeout=30)
    shutil.rmtree(directory, ignore_errors=True)


def refused_start(env, *args):
    """`gpupool up` on the stand-in GPUs with `args`: it must exit without serving; its log."""
    server = Server(gpus=(), env=env, extra_args=args)
    try:
        with pytest.raises(AssertionError, match="gpupool up exited"):
            server.start()
        assert server.process.wait(timeout=30) != 0
        return server.log()
    finally:
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)


def test_podman_whose_compatible_api_drops_gpu_requests_is_refused(real_gpus_env, podman_socket):
    log = refused_start(real_gpus_env, "--engine", podman_socket)
    assert "Podman 4.3.1 (API 1.41) drops GPU requests made through its Docker-compatible API" in log, log
    assert "upgrade Podman to 5.4 or newer" in log
    assert "taking sessions" not in log

    log = refused_start(real_gpus_env, "--engine", podman_socket, "--gpu-devices", "nvidia")
    assert "Podman's Docker-compatible API ignores the nvidia device driver" in log, log


def test_cdi_is_refused_where_the_engine_has_it_off(real_gpus_env):
    log = refused_start(real_gpus_env, "--gpu-devices", "cdi")
    assert "--gpu-devices cdi: Docker" in log and "has CDI turned off" in log, log


def test_dockers_nvidia_driver_is_asked_for_exactly_the_sessions_gpus(real_gpus_env):
    """Docker here has no NVIDIA runtime: the session's start fails with the engine's own
    refusal of the GPU request, never running without the GPU it was given."""
    server = Server(gpus=(), env=real_gpus_env, extra_args=["--postpaid"])
    server.start()
    try:
        assert "sessions are given their GPUs through the engine's nvidia device driver" in server.log()
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
        status, session = admin.post("/api/v1/sessions", {"gpus": 1, "cpus": 0.5, "memory_gb": 1})
        assert status == 201, session
        ended = wait_for_state(admin, session["id"], {"ended"}, timeout=120)
        assert 'could not select device driver "nvidia"' in ended["reason"], ended
        assert ended["gpus"]["uuids"] == ["GPU-fake-0000"] and not ended["gpus"]["simulated"], ended
        assert ended["cost"]["billed_seconds"] == 0 and ended["started_at"] is None, ended
    finally:
        server.stop()
        remove_containers(server)
        shutil.rmtree(server.data_dir, ignore_errors=True)
