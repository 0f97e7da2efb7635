"""A GPU share's memory cap in a real session container: the cap is preloaded into every
process, Jupyter's kernels and SSH logins alike, and they all draw on one account. The driver
is the tests' stand-in libcuda (there is no GPU here), uploaded to the home like any user's
file; what is checked is the cap between the programs and it."""
import os
import subprocess

import shutil
import tempfile

from conftest import (ADMIN_PASSWORD, SSH_OPTIONS, Api, Server, mint_token, remove_containers, run_in_kernel,
                      ssh, wait_for_state)

DRIVER = os.environ["GPUPOOL_FAKE_CUDA"]
CLIENT = os.environ["GPUPOOL_CAP_CLIENT"]

# What a Python program does with the driver through ctypes (dlopen, then dlsym for each
# function): a context on device 0, then allocations of `sizes` MiB; their CUDA results.
KERNEL_ALLOCATES = """
import ctypes, os
cuda = ctypes.CDLL(os.path.expanduser("~/driver/libcuda.so.1"))
context = ctypes.c_void_p()
assert cuda.cuInit(0) == 0 and cuda.cuCtxCreate_v2(ctypes.byref(context), 0, 0) == 0
held = []
for size in {sizes}:
    pointer = ctypes.c_ulonglong()
    held.append(pointer)
    print(cuda.cuMemAlloc_v2(ctypes.byref(pointer), ctypes.c_size_t(size << 20)), end=" ")
free, total = ctypes.c_size_t(), ctypes.c_size_t()
cuda.cuMemGetInfo_v2(ctypes.byref(free), ctypes.byref(total))
print(free.value >> 20, total.value >> 20)
"""


def upload(session, key_path, local, remote):
    info = session["ssh"]
    result = subprocess.run(
        ["scp", *SSH_OPTIONS, "-o", "BatchMode=yes", "-i", key_path, "-P", str(info["port"]), local,
         f"{info['user']}@{info['host']}:{remote}"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def running_session(make_user, public_key, prefix, gpus):
    """A new user with the test's key, and their running session with these GPUs."""
    _, user = make_user(prefix)
    assert user.call("PUT", "/api/v1/me/ssh-keys", {"keys": [public_key]})[0] == 200
    status, session = user.post("/api/v1/sessions", {**gpus, "cpus": 0.5, "memory_gb": 1})
    assert status == 201, session
    return user, wait_for_state(user, session["id"], {"running"})


def test_a_share_is_capped_for_every_process_of_the_session(make_user, key_pair):
    key_path, public_key = key_pair
    user, session = running_session(make_user, public_key, "capped", {"gpu_memory_gb": 1})

    assert ssh(session, key_path, "mkdir -p driver").returncode == 0
    upload(session, key_path, DRIVER, "driver/libcuda.so.1")
    upload(session, key_path, CLIENT, "cap_client")

    # Jupyter's kernel: 600 MiB fit the 1 GiB share, a second 600 do not; the share is the card.
    # The kernel shows the cap's message too (its standard error).
    kernel = run_in_kernel(session, KERNEL_ALLOCATES.format(sizes=[600, 600]), user)
    assert kernel.startswith("0 2 424 1024\n"), kernel
    assert "exceed this session's share of the GPU" in kernel

    # An SSH login while the kernel still holds its 600 MiB: the same account.
    result = ssh(session, key_path,
                 "LD_LIBRARY_PATH=~/driver ./cap_client alloc:plain:600 alloc:plain:400 info")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["alloc plain 600 error 2", "alloc plain 400 ok 0",
                                          "info 0 free_mb=24 total_mb=1024"]
    assert "exceed this session's share" in result.stderr

    # Nothing the user controls removes or widens it.
    attempts = ssh(session, key_path,
                   "env -u LD_PRELOAD LD_PRELOAD= GPUPOOL_GPU_CAP_CONFIG=/tmp/x GPUPOOL_GPU_MEMORY_LIMIT_MB=99999 "
                   "LD_LIBRARY_PATH=~/driver ./cap_client alloc:plain:600; "
                   "echo > /etc/ld.so.preload; echo limit_mb=99999 > /etc/gpupool/gpu-cap.conf; "
                   "rm -f /run/gpupool-gpu-cap/account; "
                   "cat /etc/ld.so.preload /etc/gpupool/gpu-cap.conf")
    assert attempts.stdout.splitlines() == [
        "alloc plain 600 error 2", "/usr/lib/gpupool/libgpupool_gpu_cap.so", "limit_mb=1024",
        "account=/run/gpupool-gpu-cap/account"], attempts.stdout + attempts.stderr
    assert attempts.stderr.count("Permission denied") == 3, attempts.stderr
    # Not even root in the container (an admin's `docker exec`) can change the library.
    library = subprocess.run(["docker", "exec", "gpupool-" + session["id"], "sh", "-c",
                              "echo > /usr/lib/gpupool/libgpupool_gpu_cap.so"],
                             capture_output=True, text=True, timeout=60)
    assert library.returncode != 0 and "Read-only file system" in library.stderr, library.stderr

    assert user.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] in (200, 202, 204)


def test_whole_gpus_have_no_cap(make_user, key_pair):
    key_path, public_key = key_pair
    user, session = running_session(make_user, public_key, "whole", {"gpus": 1})
    result = ssh(session, key_path, "test -e /etc/ld.so.preload || echo none; env | grep -c GPUPOOL_GPU || true")
    assert result.stdout.split() == ["none", "0"], result.stdout + result.stderr
    assert user.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] in (200, 202, 204)


def test_a_share_does_not_start_where_its_cap_cannot_load():
    """A cap the loader cannot load (here: not a library at all; in practice an image whose
    glibc is too old) would be skipped with a warning: the session fails instead of running
    uncapped."""
    work = tempfile.mkdtemp(prefix="gpupool-e2e-cap-")
    bogus = os.path.join(work, "libgpupool_gpu_cap.so")
    with open(bogus, "w") as handle:
        handle.write("not a library\n")
    os.chmod(bogus, 0o755)
    server = Server(extra_args=["--gpu-cap-library", bogus])
    server.start()
    try:
        admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))
        status, share = admin.post("/api/v1/sessions", {"gpu_memory_gb": 1, "cpus": 0.5, "memory_gb": 1})
        assert status == 201, share
        ended = wait_for_state(admin, share["id"], {"running", "ended"})
        assert ended["state"] == "ended" and ended["end_reason"] == "failed", ended
        assert "the GPU-memory cap library does not load in this image" in ended["reason"], ended
        # Whole GPUs need no cap and still start.
        status, whole = admin.post("/api/v1/sessions", {"gpus": 1, "cpus": 0.5, "memory_gb": 1})
        assert status == 201, whole
        assert wait_for_state(admin, whole["id"], {"running", "ended"})["state"] == "running"
    finally:
        server.stop()
        remove_containers(server)
        shutil.rmtree(work, ignore_errors=True)
