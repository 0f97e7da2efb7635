"""`gpupool server --slurm` in front of a real Slurm cluster (Debian's Slurm 22.05: munge,
slurmctld and two slurmd, gpu1 and gpu2, with two fake A100 GRES each): sessions become jobs
submitted as their users' Unix accounts, run the catalog image in a sandbox inside the job,
report their Jupyter and SSH ports with the session's secret, and end when Slurm ends their
jobs; Slurm's pending reasons show in gpupool's words, and the bill is Slurm's elapsed time."""
import json
import os
import pwd
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import SSH_OPTIONS, BINARY, Api, free_port, held_port_range, mint_token, run_in_kernel, ssh, wait_for_state
from nodes import SLIM_IMAGE, ensure_slim_image
from test_browser import BROWSER_TESTS, SCREENSHOTS, run_to_end

ADMIN_PASSWORD = "slurm-" + secrets.token_hex(8)
IMAGE_TAG = "pytorch1.13-cpu-debian12-runtime"
# In the catalog with no root filesystem made beforehand: the server unpacks it itself.
UNPACKED_BY_SERVER = "pytorch1.13-cpu-debian12-devel"
CLUSTER_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "slurm", "cluster.sh")
# Unix accounts of the site, the same on every node (here, one machine): stable uids.
ACCOUNTS = {"slurmada": 42101, "slurmbob": 42102, "slurmcy": 42111, "slurmeve": 42112}
# Idle reclaim in seconds, for slurmcy only (the others are exempt): the job reports each second.
IDLE_WINDOW_S, IDLE_GRACE_S = 25, 6
# A user the site has no account for: the account hook makes it, with uid UID_BASE + its id.
HOOKED_USER, UID_BASE = "slurmdee", 43000
HOOK = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "slurm-account-hook.sh")
FAKE_CUDA = os.environ["GPUPOOL_FAKE_CUDA"]
CAP_CLIENT = os.environ["GPUPOOL_CAP_CLIENT"]
# SSH through the gateway host, as for nodes on a private network.
SSH_GATEWAY_PORTS = held_port_range(8)


def sh(*args, **kwargs):
    return subprocess.run(args, check=kwargs.pop("check", True), capture_output=True, text=True, **kwargs)


class Site:
    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="gpupool-e2e-slurm-")
        os.chmod(self.work, 0o755)
        self.slurm_dir = os.path.join(self.work, "slurm")
        self.env = dict(os.environ, SLURM_CONF=os.path.join(self.slurm_dir, "slurm.conf"))
        self.images = os.path.join(self.work, "images")
        self.homes = os.path.join(self.work, "homes")
        self.data_dir = os.path.join(self.work, "server")
        # Jobs write their logs as their users, as into a cluster's scratch space.
        self.logs = os.path.join(self.work, "logs")
        os.mkdir(self.logs)
        os.chmod(self.logs, 0o1777)
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.work, "server.log")
        self.server = None
        self.tls = None
        self.admin = None

    def start_slurm(self):
        result = sh("bash", CLUSTER_SCRIPT, "start", self.slurm_dir, check=False)
        assert result.returncode == 0, result.stdout + result.stderr

    def create_accounts(self):
        os.makedirs(self.homes, 0o755)
        for name, uid in ACCOUNTS.items():
            try:
                pwd.getpwnam(name)
            except KeyError:
                sh("useradd", "--uid", str(uid), "--user-group", "--no-create-home", "--shell", "/bin/bash", name)
            home = os.path.join(self.homes, name)
            os.makedirs(home, 0o700)
            os.chown(home, pwd.getpwnam(name).pw_uid, pwd.getpwnam(name).pw_gid)

    def unpack_image(self):
        """The catalog image as the root filesystem jobs run it from: `gpupool slurm-image`
        (skopeo from this host's engine, umoci)."""
        ensure_slim_image()
        result = sh(BINARY, "slurm-image", f"{IMAGE_TAG}={SLIM_IMAGE}", "--slurm-images", self.images, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert os.path.isfile(os.path.join(self.images, IMAGE_TAG, "usr", "bin", "python3"))
        # The image's setuid programs (su, passwd, mount) would run as root from the shared
        # tree on a node: none is left, nor any file capability.
        privileged = sh("find", os.path.join(self.images, IMAGE_TAG), "-type", "f", "-perm", "/6000").stdout
        assert privileged == "", privileged
        capabilities = sh("getcap", "-r", os.path.join(self.images, IMAGE_TAG), check=False).stdout
        assert capabilities.strip() == "", capabilities
        # An image that is nowhere fails, saying so, and leaves nothing behind.
        result = sh(BINARY, "slurm-image", "pytorch1.13-cpu-debian12-devel=gpupool/absent:1",
                    "--slurm-images", self.images, check=False)
        assert result.returncode != 0 and "skopeo failed" in result.stdout + result.stderr, result
        assert sorted(os.listdir(self.images)) == [IMAGE_TAG]

    def start_server(self):
        env = dict(self.env, GPUPOOL_ADMIN_PASSWORD=ADMIN_PASSWORD)
        self.server = subprocess.Popen(
            [BINARY, "server", "--data-dir", self.data_dir, "--listen", f"127.0.0.1:{self.port}",
             "--public-host", "127.0.0.1", "--session-ports", "8",
             "--image", f"{IMAGE_TAG}={SLIM_IMAGE}", "--image", f"{UNPACKED_BY_SERVER}={SLIM_IMAGE}", "--slurm", "--slurm-partition", "gpu",
             "--slurm-gpu-model", "a100=A100-80GB", "--slurm-images", self.images,
             "--slurm-gpu-memory-gb", "80", "--slurm-shards-per-gpu", "4", "--slurm-activity-seconds", "1",
             "--idle-window", f"{IDLE_WINDOW_S}s", "--idle-grace", f"{IDLE_GRACE_S}s",
             "--slurm-account-hook", HOOK, "--slurm-uid-base", str(UID_BASE),
             "--slurm-home", os.path.join(self.homes, "{user}"), "--slurm-gpu-devices",
             os.path.join(self.slurm_dir, "dev", "gpu[0-3]"),
             "--ssh-gateway-ports", f"{SSH_GATEWAY_PORTS[0]}-{SSH_GATEWAY_PORTS[1]}",
             "--slurm-job-log", os.path.join(self.logs, "job-%j.log"), "--slurm-poll-seconds", "0.5"],
            stdout=open(self.log_path, "a"), stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        cert = os.path.join(self.data_dir, "tls", "server.crt")
        while True:
            assert self.server.poll() is None, "gpupool server exited:\n" + self.log()
            assert time.time() < deadline, "gpupool server did not start:\n" + self.log()
            if os.path.exists(cert) and "listening on port" in self.log():
                break
            time.sleep(0.2)
        self.tls = ssl.create_default_context(cafile=cert)
        self.admin = Api(self.base, mint_token(self.base, "admin", ADMIN_PASSWORD, self.tls), tls_context=self.tls)

    def user(self, name, key, idle_exempt=True):
        password = "pw-" + secrets.token_hex(8)
        status, body = self.admin.post("/api/v1/users", {"username": name, "password": password})
        assert status == 201, body
        if idle_exempt:  # the idle window is seconds long here
            status, body = self.admin.call("PUT", f"/api/v1/idle-policies/user/{name}", {"exempt": True})
            assert status == 200, body
        api = Api(self.base, mint_token(self.base, name, password, self.tls), tls_context=self.tls)
        assert api.call("PUT", "/api/v1/me/ssh-keys", {"keys": [key]})[0] == 200
        return api

    def jobs(self):
        """Slurm's own view of gpupool's jobs, by session id."""
        out = sh("squeue", "--json", env=self.env).stdout
        return {job["name"][len("gpupool-"):]: job for job in json.loads(out)["jobs"]
                if job["name"].startswith("gpupool-")}

    def log(self):
        with open(self.log_path) as handle:
            return handle.read()[-6000:]

    def job_logs(self):
        text = ""
        for name in sorted(os.listdir(self.logs)):
            if name.startswith("job-"):
                with open(os.path.join(self.logs, name)) as handle:
                    text += f"--- {name}\n" + handle.read()[-1500:]
        return text


@pytest.fixture(scope="module")
def site():
    instance = Site()
    try:
        instance.start_slurm()
        instance.create_accounts()
        instance.unpack_image()
        instance.start_server()
        yield instance
    finally:
        if instance.server and instance.server.poll() is None:
            instance.server.terminate()
            instance.server.wait(timeout=30)
        subprocess.run(["scancel", "--name", "", "--user", ",".join(ACCOUNTS)], env=instance.env,
                       capture_output=True)
        for name in [*ACCOUNTS, HOOKED_USER]:
            subprocess.run(["scancel", "-u", name], env=instance.env, capture_output=True)
        subprocess.run(["bash", CLUSTER_SCRIPT, "stop", instance.slurm_dir], capture_output=True)
        print("--- server\n" + (instance.log() if os.path.exists(instance.log_path) else ""))
        print(instance.job_logs())
        shutil.rmtree(instance.work, ignore_errors=True)
        subprocess.run(["userdel", HOOKED_USER], capture_output=True)


@pytest.fixture(scope="module")
def ada(site, key_pair):
    return site.user("slurmada", key_pair[1])


def running(site, api, session_id, timeout=90):
    try:
        return wait_for_state(api, session_id, {"running"}, timeout=timeout)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{site.log()}\n{site.job_logs()}")


def test_the_pool_is_slurms_nodes(site, ada):
    status, pool = ada.get("/api/v1/pool")
    assert status == 200, pool
    assert sorted((node["name"], node["gpus_total"]) for node in pool["nodes"]) == [("gpu1", 2), ("gpu2", 2)]
    assert [(model["model"], model["total"]) for model in pool["gpu_models"]] == [("A100-80GB", 4)]
    # Slurm places: a node is drained in Slurm, and gpupool says so.
    status, body = site.admin.call("PUT", "/api/v1/nodes/gpu1", {"drained": True})
    assert status == 409 and "scontrol update NodeName=gpu1 State=DRAIN" in body["error"]["message"], body


def test_the_portal_shows_slurms_nodes(site):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    returncode, output = run_to_end(["node", "pool.mjs", site.base, ADMIN_PASSWORD,
                                     os.path.join(SCREENSHOTS, "slurm-nodes.png"),
                                     "gpu1@slurm=available", "gpu2@slurm=available"], BROWSER_TESTS, timeout=330)
    assert returncode == 0 and "pool: ok" in output, output


def test_a_session_runs_as_a_slurm_job_of_its_user_with_jupyter_and_ssh(site, ada, key_pair):
    started = time.time()
    status, session = ada.post("/api/v1/sessions", {"image": IMAGE_TAG, "gpus": 1, "cpus": 1, "memory_gb": 2})
    assert status == 201, session
    session = running(site, ada, session["id"])
    print(f"request to running: {time.time() - started:.1f} s")
    job = site.jobs()[session["id"]]
    # Slurm placed it and runs it as the user's own account, with the GPU it allocated.
    assert job["job_state"] == "RUNNING" and job["user_name"] == "slurmada", job
    assert job["user_id"] == ACCOUNTS["slurmada"] and job["group_id"] == ACCOUNTS["slurmada"], job
    assert session["node"] == job["nodes"], (session, job)
    assert job["gres_detail"] == [f"gpu:a100:1(IDX:{session['gpus']['indices'][0]})"], (job, session)
    # Jupyter through the gateway, which reaches it on Slurm's address for the node.
    status, body = ada.get(f"/s/{session['id']}/api")
    assert status == 200 and "version" in body, body
    # SSH through the gateway host, relayed to the job's sshd; and straight to the node.
    assert SSH_GATEWAY_PORTS[0] <= session["ssh"]["port"] <= SSH_GATEWAY_PORTS[1], session["ssh"]
    direct = dict(session, ssh=dict(session["ssh"], **session["ssh"]["direct"]))
    assert ssh(direct, key_pair[0], "hostname").stdout.strip() == session["id"]
    # As the user, with no capability and the job's GPU.
    result = ssh(session, key_pair[0], "hostname; id -u; id -g; grep CapEff /proc/self/status; "
                                  "echo cuda=$CUDA_VISIBLE_DEVICES; touch /usr/x 2>&1; ls -d ~; "
                                  "echo ld=$LD_LIBRARY_PATH; test -e /etc/ld.so.preload || echo no-cap")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == session["id"], lines
    assert lines[1:3] == [str(ACCOUNTS["slurmada"])] * 2, lines
    assert lines[3].split() == ["CapEff:", "0000000000000000"], lines
    assert lines[4] == "cuda=" + ",".join(str(i) for i in session["gpus"]["indices"]), lines
    assert "Read-only file system" in lines[5], lines
    assert lines[6] == "/home/slurmada", lines
    assert lines[7] == "ld=/run/gpupool/driver", lines  # where the node's driver libraries go
    assert lines[8] == "no-cap", lines  # whole GPUs are not capped
    # The job's sshd takes the owner's key only: not another key, not as root.
    stranger = os.path.join(site.work, "stranger")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger], check=True)
    assert ssh(direct, stranger, "true").returncode != 0
    assert ssh(direct, key_pair[0], "true", user="root").returncode != 0
    # Only the GPU Slurm allocated opens: the job's device cgroup holds in the sandbox too.
    node_gpus = [0, 1] if session["node"] == "gpu1" else [2, 3]
    index = session["gpus"]["indices"][0]
    devices = [os.path.join(site.slurm_dir, "dev", f"gpu{gpu}") for gpu in node_gpus]
    result = ssh(session, key_pair[0], "; ".join(f"(exec 3<>{device}) 2>&1 && echo opened" for device in devices))
    opened = result.stdout.splitlines()
    assert len(opened) == 2, result.stdout + result.stderr
    assert opened[index] == "opened", opened
    assert "Operation not permitted" in opened[1 - index], opened
    # What the user writes lands in their own home on the cluster.
    assert ssh(session, key_pair[0], "echo kept > ~/note.txt").returncode == 0
    with open(os.path.join(site.homes, "slurmada", "note.txt")) as handle:
        assert handle.read() == "kept\n"
    assert ada.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] == 200
    ended = wait_for_state(ada, session["id"], {"ended"}, timeout=60)
    assert ended["end_reason"] == "user_stopped", ended
    deadline = time.time() + 30
    while site.jobs()[session["id"]]["job_state"] not in ("CANCELLED", "COMPLETED"):
        assert time.time() < deadline, site.jobs()[session["id"]]
        time.sleep(0.5)


def test_a_share_runs_on_shards_of_one_gpu_capped_to_its_memory_in_every_process(site, ada, key_pair):
    """1 GB of an 80 GB A100 with 4 shards per GPU: one shard. The cap is checked against the
    tests' stand-in driver, as for the Docker agents' shares (test_gpu_cap.py)."""
    status, session = ada.post("/api/v1/sessions", {"image": IMAGE_TAG, "gpu_memory_gb": 1, "cpus": 1,
                                                    "memory_gb": 1})
    assert status == 201, session
    session = running(site, ada, session["id"])
    job = site.jobs()[session["id"]]
    assert job["tres_per_node"] == "gres:shard:1", job
    index = session["gpus"]["indices"]
    assert len(index) == 1 and job["gres_detail"] == [f"shard:1(IDX:{index[0]})"], (job, session)
    home = os.path.join(site.homes, "slurmada")
    account = pwd.getpwnam("slurmada")
    os.makedirs(os.path.join(home, "driver"), exist_ok=True)
    for source, target in ((FAKE_CUDA, "driver/libcuda.so.1"), (CAP_CLIENT, "cap_client")):
        shutil.copy(source, os.path.join(home, target))
        os.chown(os.path.join(home, target), account.pw_uid, account.pw_gid)
    os.chown(os.path.join(home, "driver"), account.pw_uid, account.pw_gid)

    result = ssh(session, key_pair[0], "echo cuda=$CUDA_VISIBLE_DEVICES; "
                                       "LD_LIBRARY_PATH=~/driver ./cap_client alloc:plain:600 alloc:plain:600 info")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"cuda={index[0]}", "alloc plain 600 ok 0", "alloc plain 600 error 2",
                                          "info 0 free_mb=424 total_mb=1024"], result.stdout + result.stderr
    assert "exceed this session's share" in result.stderr
    # Nothing the user controls removes or widens it: the files are read-only, and no user
    # namespace can be made to mount over them.
    attempts = ssh(session, key_pair[0],
                   "env -u LD_PRELOAD GPUPOOL_GPU_CAP_CONFIG=/tmp/x LD_LIBRARY_PATH=~/driver ./cap_client alloc:plain:1200; "
                   "echo > /etc/ld.so.preload; echo limit_mb=99999 > /etc/gpupool/gpu-cap.conf; "
                   "unshare -Urm true || echo no-userns; cat /etc/ld.so.preload /etc/gpupool/gpu-cap.conf")
    assert attempts.stdout.splitlines() == [
        "alloc plain 1200 error 2", "no-userns", "/run/gpupool/lib/libgpupool_gpu_cap.so", "limit_mb=1024",
        "account=/run/gpupool/cap/account"], attempts.stdout + attempts.stderr
    assert attempts.stderr.count("Read-only file system") == 2, attempts.stderr
    assert ada.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] == 200
    wait_for_state(ada, session["id"], {"ended"}, timeout=60)


def test_a_request_slurm_cannot_place_waits_with_slurms_reason(site, ada):
    ids = []
    for _ in range(3):
        status, session = ada.post("/api/v1/sessions", {"image": IMAGE_TAG, "gpus": 2, "cpus": 1, "memory_gb": 2})
        assert status == 201, session
        ids.append(session["id"])
    first = [running(site, ada, session_id) for session_id in ids[:2]]
    assert sorted(session["node"] for session in first) == ["gpu1", "gpu2"]
    # Until slurmctld's next scheduling pass looks at the job its reason is "None" (said as
    # such); the pass (sched_interval: 60 s by default, 5 s in tests/slurm) names the real one.
    deadline = time.time() + 90
    while True:
        waiting = ada.get(f"/api/v1/sessions/{ids[2]}")[1]
        reason = waiting["queue"]["parameters"].get("slurm_reason") if waiting["queue"] else None
        if reason == "None":
            assert waiting["reason"].startswith("waiting in Slurm's queue: Slurm has not yet looked at it"), waiting
        if reason in ("Resources", "Priority"):
            break
        assert time.time() < deadline, waiting
        time.sleep(0.5)
    assert waiting["state"] == "queued" and waiting["queue"]["code"] == "slurm_pending", waiting
    assert waiting["reason"].startswith("waiting in Slurm's queue: Slurm "), waiting
    assert site.jobs()[ids[2]]["job_state"] == "PENDING"
    # A job cancelled in Slurm ends its session, saying so; the waiting one then gets its GPUs.
    sh("scancel", str(site.jobs()[ids[0]]["job_id"]), env=site.env)
    ended = wait_for_state(ada, ids[0], {"ended"}, timeout=60)
    assert ended["end_reason"] == "admin_stopped" and "scancel" in ended["reason"], ended
    assert running(site, ada, ids[2])["node"] == first[0]["node"]
    for session_id in ids[1:]:
        assert ada.call("DELETE", f"/api/v1/sessions/{session_id}")[0] == 200
    for session_id in ids[1:]:
        wait_for_state(ada, session_id, {"ended"}, timeout=60)


def test_slurms_time_limit_ends_the_session_billed_for_the_jobs_elapsed_time(site, key_pair):
    bob = site.user("slurmbob", key_pair[1])
    assert site.admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 3600})[0] == 200  # 1 a second
    assert site.admin.post("/api/v1/users/slurmbob/balance", {"amount": 1000, "idempotency_key": "slurm"})[0] == 201
    status, session = bob.post("/api/v1/sessions", {"image": IMAGE_TAG, "gpus": 1, "cpus": 1, "memory_gb": 1,
                                                    "max_hours": 1 / 60})
    assert status == 201, session
    running(site, bob, session["id"])
    job = site.jobs()[session["id"]]
    assert job["time_limit"] == 1, job
    # Slurm ends it at its limit (it looks every 30 s); gpupool follows.
    ended = wait_for_state(bob, session["id"], {"ended"}, timeout=150)
    assert ended["end_reason"] == "time_limit", ended
    job = site.jobs()[session["id"]]
    assert job["job_state"] == "TIMEOUT", job
    elapsed = job["end_time"] - job["start_time"]
    assert 60 <= elapsed <= 120, job
    status, balance = bob.get("/api/v1/balance")
    assert status == 200, balance
    charges = [entry for entry in balance["entries"] if entry["kind"] == "charge"]
    assert len(charges) == 1, balance
    # One GPU at 1 credit a second, for exactly the job's elapsed time as Slurm records it.
    assert charges[0]["amount"] == pytest.approx(-elapsed, abs=0.01), (charges, job)
    assert charges[0]["session"] == session["id"]
    site.admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 0})


def test_the_job_reports_its_sessions_use_and_an_unused_one_is_reclaimed(site, key_pair):
    """The job measures what an agent measures of a container: CPU time of the sandbox's
    processes, Jupyter's kernels, SSH connections. A session kept busy (a CPU loop started
    over SSH) outlives the idle window; one nobody uses is warned, then reclaimed, its job
    cancelled in Slurm."""
    cy = site.user("slurmcy", key_pair[1], idle_exempt=False)
    ids = []
    for _ in range(2):
        status, session = cy.post("/api/v1/sessions", {"image": IMAGE_TAG, "gpus": 0, "cpus": 1, "memory_gb": 1})
        assert status == 201, session
        ids.append(session["id"])
    busy, unused = (running(site, cy, session_id) for session_id in ids)
    # In the busy one: a CPU loop left running by an SSH login, a Jupyter kernel, an SSH login
    # that stays open.
    spin = ssh(busy, key_pair[0], "nohup sh -c 'while :; do :; done' >/dev/null 2>&1 &")
    assert spin.returncode == 0, spin.stderr
    assert run_in_kernel(busy, "print(6 * 7)", cy).strip() == "42"
    info = busy["ssh"]
    login = subprocess.Popen(["ssh", *SSH_OPTIONS, "-o", "BatchMode=yes", "-i", key_pair[0], "-p", str(info["port"]),
                              f"{info['user']}@{info['host']}", "sleep 60"])
    try:
        deadline = time.time() + 30
        while True:
            idle = cy.get(f"/api/v1/sessions/{busy['id']}")[1]["idle"]  # null until the job's first report
            signals = idle and idle["signals"]
            if signals and signals["cpu_cores"] >= 0.5 and signals["ssh_connections"] == 1:
                break
            assert time.time() < deadline, signals
            time.sleep(1)
        assert signals["kernels"] == 1 and signals["busy_kernels"] == 0, signals
        assert 0 <= signals["jupyter_quiet_seconds"] < 30, signals
    finally:
        login.terminate()

    warned = wait_for_state(cy, unused["id"], {"running"}, timeout=5)
    deadline = time.time() + IDLE_WINDOW_S + 20
    while not (warned["idle"] and warned["idle"]["warned_at"]):
        assert time.time() < deadline, warned
        time.sleep(1)
        warned = cy.get(f"/api/v1/sessions/{unused['id']}")[1]
    assert warned["idle"]["signals"]["cpu_cores"] < 0.1, warned["idle"]
    ended = wait_for_state(cy, unused["id"], {"ended"}, timeout=IDLE_GRACE_S + 30)
    assert ended["end_reason"] == "idle_reclaimed", ended
    assert site.jobs()[unused["id"]]["job_state"] in ("CANCELLED", "COMPLETED"), site.jobs()[unused["id"]]
    kept = cy.get(f"/api/v1/sessions/{busy['id']}")[1]
    assert kept["state"] == "running" and not kept["idle"]["warned_at"], kept
    assert cy.call("DELETE", f"/api/v1/sessions/{busy['id']}")[0] == 200
    wait_for_state(cy, busy["id"], {"ended"}, timeout=60)


def test_a_user_without_an_account_gets_one_from_the_hook_with_a_stable_uid(site, key_pair):
    subprocess.run(["userdel", HOOKED_USER], capture_output=True)  # a previous run's
    dee = site.user(HOOKED_USER, key_pair[1])
    user_id = next(user["id"] for user in site.admin.get("/api/v1/users")[1]["users"] if user["username"] == HOOKED_USER)
    status, session = dee.post("/api/v1/sessions", {"image": IMAGE_TAG, "gpus": 0, "cpus": 1, "memory_gb": 1})
    assert status == 201, session
    session = running(site, dee, session["id"])
    account = pwd.getpwnam(HOOKED_USER)
    assert account.pw_uid == account.pw_gid == UID_BASE + user_id, account
    home = os.path.join(site.homes, HOOKED_USER)
    assert os.stat(home).st_uid == account.pw_uid and os.stat(home).st_mode & 0o777 == 0o700
    result = ssh(session, key_pair[0], "id -u; echo kept > ~/note.txt")
    assert result.returncode == 0 and result.stdout.split() == [str(UID_BASE + user_id)], result
    assert os.path.isfile(os.path.join(home, "note.txt"))
    assert dee.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] == 200
    wait_for_state(dee, session["id"], {"ended"}, timeout=60)


def test_the_server_unpacks_catalog_images_for_jobs_itself(site, ada):
    rootfs = os.path.join(site.images, UNPACKED_BY_SERVER)
    deadline = time.time() + 120
    while not os.path.isfile(os.path.join(rootfs, "usr", "bin", "python3")):
        assert time.time() < deadline, site.log()
        time.sleep(1)
    with open(site.log_path) as handle:
        assert f"{UNPACKED_BY_SERVER} is ready for Slurm jobs" in handle.read()
    assert not [name for name in os.listdir(site.images) if name.startswith(".unpack-")]
    status, session = ada.post("/api/v1/sessions", {"image": UNPACKED_BY_SERVER, "gpus": 0, "cpus": 1,
                                                    "memory_gb": 1})
    assert status == 201, session
    running(site, ada, session["id"])
    assert ada.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] == 200
    wait_for_state(ada, session["id"], {"ended"}, timeout=60)


def test_a_jobs_report_needs_its_sessions_secret(site, ada):
    status, session = ada.post("/api/v1/sessions", {"image": IMAGE_TAG, "gpus": 1, "cpus": 1, "memory_gb": 1})
    assert status == 201, session
    session = running(site, ada, session["id"])
    anyone = Api(site.base, tls_context=site.tls)
    report = {"session": session["id"], "jupyter_port": 2222, "ssh_port": 0}
    for headers in ({}, {"Authorization": "Bearer " + "0" * 64}, {"Authorization": "Bearer " + ada.token}):
        status, body = anyone.call("POST", "/api/v1/slurm/ready", report, headers=headers)
        assert status == 401, body
    status, body = anyone.call("POST", "/api/v1/slurm/ready", raw=b'{"session": 1', headers={"Authorization": "Bearer x"})
    assert status == 400, body
    # The same for its activity reports: nobody else can make a session look used or unused.
    activity = {"session": session["id"], "activity": {"cpu_cores": 0, "kernels": 0, "busy_kernels": 0,
                                                       "terminals": 0, "ssh_connections": 0}}
    for headers in ({}, {"Authorization": "Bearer " + "0" * 64}, {"Authorization": "Bearer " + ada.token}):
        status, body = anyone.call("POST", "/api/v1/slurm/activity", activity, headers=headers)
        assert status == 401, body
    bad = dict(activity, activity=dict(activity["activity"], cpu_cores=-1))
    status, body = anyone.call("POST", "/api/v1/slurm/activity", bad, headers={"Authorization": "Bearer x"})
    assert status == 400, body
    after = ada.get(f"/api/v1/sessions/{session['id']}")[1]
    assert after["jupyter"] == session["jupyter"] and after["state"] == "running", after
    assert ada.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] == 200
    wait_for_state(ada, session["id"], {"ended"}, timeout=60)


def test_a_session_that_cannot_start_shows_what_its_job_said(site, key_pair):
    """A job's log stays on its node: what the job saw as the start failed (Jupyter's own
    traceback, and why gpupool gave up) reaches the session's log for `gpupool logs`."""
    eve = site.user("slurmeve", key_pair[1])
    # A home where Jupyter cannot make its runtime directory, as a stray file would do.
    home = os.path.join(site.homes, "slurmeve")
    with open(os.path.join(home, ".local"), "w") as handle:
        handle.write("not a directory\n")
    os.chown(os.path.join(home, ".local"), ACCOUNTS["slurmeve"], ACCOUNTS["slurmeve"])
    try:
        status, session = eve.post("/api/v1/sessions", {"image": IMAGE_TAG, "gpus": 0, "cpus": 1, "memory_gb": 1})
        assert status == 201, session
        ended = wait_for_state(eve, session["id"], {"ended"}, timeout=120)
        assert ended["end_reason"] == "failed", ended
        status, log = eve.get(f"/api/v1/sessions/{session['id']}/log")
        assert status == 200, log
        assert "NotADirectoryError" in log["start_log"], f"{log}\n{site.job_logs()}"
        assert "gpupool: the session's Jupyter stopped before it answered" in log["start_log"], log
        # The same report once more, without the job's secret: refused.
        anyone = Api(site.base, tls_context=site.tls)
        status, body = anyone.call("POST", "/api/v1/slurm/start-failure",
                                   {"session": session["id"], "log": "aGk="},
                                   headers={"Authorization": "Bearer " + eve.token})
        assert status == 401, body
    finally:
        os.remove(os.path.join(home, ".local"))
