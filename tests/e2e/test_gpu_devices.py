"""How a node with real GPUs has Docker hand sessions their GPUs (--gpu-devices), against this
machine's Docker (no CDI, no NVIDIA runtime): a node starts only where the GPUs can reach the
containers, and a session whose GPUs the engine cannot give never runs without them. The GPUs
are the stand-in NVML's; Podman's side is tests/e2e/test_podman.py."""
import shutil

import pytest

from conftest import ADMIN_PASSWORD, Api, Server, listed_node, mint_token, remove_containers, wait_for_state


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


def test_cdi_is_refused_where_the_engine_has_it_off(real_gpus_env):
    log = refused_start(real_gpus_env, "--gpu-devices", "cdi")
    assert "--gpu-devices cdi: Docker" in log and "has CDI turned off" in log, log


def test_dockers_nvidia_driver_is_asked_for_exactly_the_sessions_gpus(real_gpus_env):
    """Docker here has no NVIDIA runtime: the session's start fails with the engine's own
    refusal of the GPU request, unbilled, never running without the GPU it was given."""
    server = Server(gpus=(), env=real_gpus_env, extra_args=["--postpaid"])
    server.start()
    try:
        assert "sessions are given their GPUs through the engine's nvidia device driver" in server.log()
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
        node = listed_node(admin, server.node)
        assert node["engine"].startswith("Docker ") and node["gpu_devices"] == "nvidia", node
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
