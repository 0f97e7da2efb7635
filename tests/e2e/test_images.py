"""The image catalog admins run, over Debian's docker-registry with real pushes: an image added
by its registry reference is pinned to its digest, checked in a throwaway container by the
node, kept to admins while in testing and opened to users by a roll-out step; an image
without Jupyter fails its check, one without sshd runs with SSH off; a malformed tag, a
deprecated image and one needing a newer CUDA than any node's driver are refused with a
clear error."""
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import ADMIN_PASSWORD, BINARY, Api, Server, free_port, mint_token, remove_containers, wait_for_state
from nodes import SLIM_IMAGE, Registry, ensure_slim_image
from test_browser import BROWSER_TESTS, SCREENSHOTS, run_to_end

CHECK_TIMEOUT = 180


def derive(name, shell):
    """The slim session image with something taken out, as a broken image would be."""
    builder = "gpupool-e2e-derive-" + secrets.token_hex(3)
    subprocess.run(["docker", "run", "--name", builder, "--entrypoint", "sh", SLIM_IMAGE, "-c", shell],
                   check=True, capture_output=True)
    subprocess.run(["docker", "commit", builder, name], check=True, capture_output=True)
    subprocess.run(["docker", "rm", "-f", builder], capture_output=True)
    return name


class Lab:
    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="gpupool-e2e-images-")
        self.registry = Registry(self.work, free_port(), host="127.0.0.1")
        self.server = None
        self.admin = None
        self.users = []
        self.volumes = []

    def start(self, ready_timeout=15):
        self.registry.start()
        auth = self.registry.auth_file(os.path.join(self.work, "registry-auth.json"))
        # A start whose Jupyter never answers fails within 15 s (a broken canary's sessions).
        self.server = Server(extra_args=["--registry-auth", auth, "--insecure-registry", self.registry.address,
                                         "--ready-timeout", str(ready_timeout),
                                         "--saved-images-registry", self.registry.address + "/saved",
                                         "--saved-images-per-user", "2"])
        self.server.start()
        self.admin = Api(self.server.base, mint_token(self.server.base, "admin", ADMIN_PASSWORD))

    def user(self):
        name = "img" + secrets.token_hex(3)
        password = "pw-" + secrets.token_hex(8)
        status, body = self.admin.post("/api/v1/users", {"username": name, "password": password})
        assert status == 201, body
        self.volumes.append("gpupool-home-" + name)
        api = Api(self.server.base, mint_token(self.server.base, name, password))
        api.name = name
        api.password = password
        return api

    def add(self, image, repository, tag=None):
        """Pushes `image` as repository:tag and adds it to the catalog; the added image."""
        reference = self.registry.push(image, f"{repository}:{tag}")
        status, body = self.admin.post("/api/v1/images", {"reference": reference})
        assert status == 201, body
        return body

    def checked(self, tag):
        """The image once its contract check has run."""
        deadline = time.time() + CHECK_TIMEOUT
        while True:
            status, body = self.admin.get("/api/v1/images")
            assert status == 200, body
            image = next(image for image in body["images"] if image["tag"] == tag)
            if image["check"]["state"] != "pending":
                return image
            assert time.time() < deadline, f"{tag} was not checked:\n{self.server.log()}"
            time.sleep(0.5)

    def cli(self, *args, api=None):
        """The gpupool command line, signed in as the admin (or the user of `api`)."""
        env = dict(os.environ, GPUPOOL_URL=self.server.base, GPUPOOL_TOKEN=(api or self.admin).token)
        return subprocess.run([BINARY, *args], capture_output=True, text=True, env=env, timeout=60)

    def set_state(self, tag, state):
        return self.admin.call("PATCH", f"/api/v1/images/{tag}", {"state": state})

    def stop(self):
        if self.server:
            self.server.stop()
            remove_containers(self.server)
            print(self.server.log())
        for volume in self.volumes:
            subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True)
        self.registry.stop()
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture(scope="module")
def lab():
    ensure_slim_image()
    instance = Lab()
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


def test_an_added_image_is_pinned_checked_and_opened_to_users_step_by_step(lab):
    tag = "jupyter6.4-cpu-debian12-runtime"
    added = lab.add(SLIM_IMAGE, "lab/session", tag)
    assert added["state"] == "testing" and added["check"]["state"] == "pending"
    assert added["reference"] == f"{lab.registry.address}/lab/session@{added['digest']}"
    assert added["digest"].startswith("sha256:") and added["added_by"] == "admin"

    image = lab.checked(tag)
    assert image["check"]["state"] == "passed", image
    assert image["check"]["python"].startswith("3.") and image["check"]["notebook"].startswith("6.")
    assert image["check"]["node"] == lab.server.node and image["ssh"] is True
    assert image["runnable"] is True and image["gpu_models"] == ["A100-80GB"]

    # In testing: admins only. A user neither sees it nor can start it.
    user = lab.user()
    status, listed = user.get("/api/v1/images")
    assert status == 200 and tag not in [entry["tag"] for entry in listed["images"]]
    status, body = user.post("/api/v1/sessions", {"image": tag, "gpus": 1})
    assert status == 404, body

    status, body = lab.set_state(tag, "canary")
    assert status == 200 and body["state"] == "canary", body
    status, listed = user.get("/api/v1/images")
    assert tag in [entry["tag"] for entry in listed["images"]]
    status, session = user.post("/api/v1/sessions", {"image": tag, "gpus": 1})
    assert status == 201, session
    running = wait_for_state(user, session["id"], "running")
    assert running["ssh"] is not None
    user.call("DELETE", f"/api/v1/sessions/{session['id']}")

    # Every step is in the audit log.
    status, audit = lab.admin.get("/api/v1/audit")
    assert status == 200
    steps = [(entry["action"], entry["target"], entry["detail"]) for entry in audit["entries"]]
    assert ("PATCH /api/v1/images/{tag}", f"tag={tag}", '{"state": "canary"}') in steps, steps
    assert any(action == "POST /api/v1/images" and "lab/session" in detail for action, _, detail in steps)


def test_an_image_without_jupyter_fails_its_check_and_starts_nothing(lab):
    broken = derive("gpupool/e2e-no-jupyter:1", "rm -rf /usr/lib/python3/dist-packages/notebook")
    tag = "jupyter6.4-cpu-debian12-base"
    lab.add(broken, "lab/broken", tag)
    image = lab.checked(tag)
    assert image["check"]["state"] == "failed" and "no Jupyter" in image["check"]["message"], image

    status, body = lab.set_state(tag, "stable")
    assert status == 400 and "contract check" in body["error"]["message"], body
    status, body = lab.admin.post("/api/v1/sessions", {"image": tag, "gpus": 1})
    assert status == 400 and "no Jupyter" in body["error"]["message"], body


def test_a_hostile_image_checked_reaches_no_network_and_runs_as_nobody_without_capabilities(lab):
    """What an image's check runs is the image's own: here a python3 that tries to reach the
    host and reports who it runs as, in the version fields the check reads back."""
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen(4)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    host = subprocess.run(["docker", "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", "bridge"],
                          capture_output=True, text=True, check=True).stdout.strip()
    script = f"""#!/bin/sh
case "$2" in
  *sys.version*) exec /usr/bin/python3 -c "
import socket
try:
    socket.create_connection(('{host}', {port}), 3)
    print('reached')
except OSError:
    print('isolated')";;
  *notebook*) echo "uid$(id -u)-caps$(awk '/^CapEff/ {{print $2}}' /proc/self/status)";;
  *) exec /usr/bin/python3 "$@";;
esac
"""
    hostile = derive("gpupool/e2e-hostile:1", f"cat > /usr/local/bin/python3 <<'EOF'\n{script}EOF\n"
                                              "chmod 755 /usr/local/bin/python3")
    tag = "jupyter6.4-cpu-debian11-base"
    try:
        lab.add(hostile, "lab/hostile", tag)
        check = lab.checked(tag)["check"]
        assert check["python"] == "isolated", check
        assert check["notebook"] == "uid65534-caps0000000000000000", check
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    assert not subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.gpupool.image-check"],
                              capture_output=True, text=True).stdout.strip(), "the check container is gone"


def test_an_image_without_sshd_runs_with_ssh_off(lab):
    no_ssh = derive("gpupool/e2e-no-ssh:1", "rm -f /usr/sbin/sshd")
    tag = "jupyter6.4-cpu-debian12-devel"
    lab.add(no_ssh, "lab/no-ssh", tag)
    image = lab.checked(tag)
    assert image["check"]["state"] == "passed" and image["ssh"] is False, image
    assert "no SSH" in image["check"]["message"]
    assert lab.set_state(tag, "stable")[0] == 200

    user = lab.user()
    status, session = user.post("/api/v1/sessions", {"image": tag, "gpus": 1})
    assert status == 201, session
    running = wait_for_state(user, session["id"], "running")
    assert running["ssh"] is None and "no SSH server" in running["ssh_unavailable"]
    assert running["jupyter"]["url"]
    user.call("DELETE", f"/api/v1/sessions/{session['id']}")


def test_malformed_tags_and_missing_images_are_refused_with_a_reason(lab):
    reference = lab.registry.push(SLIM_IMAGE, "lab/session:latest")
    status, body = lab.admin.post("/api/v1/images", {"reference": reference})
    assert status == 400 and 'image tag "latest" is not valid' in body["error"]["message"], body
    status, body = lab.admin.post("/api/v1/images", {"reference": reference, "tag": "pytorch-2.7-gpu"})
    assert status == 400 and "is not valid" in body["error"]["message"], body
    status, body = lab.admin.post("/api/v1/images",
                                  {"reference": f"{lab.registry.address}/lab/absent:jupyter6.4-cpu-base"})
    assert status == 400 and "the registry has no image" in body["error"]["message"], body
    status, body = lab.admin.post("/api/v1/images", {"reference": "UPPER/case:x"})
    assert status == 400, body


def test_deprecated_and_too_new_images_start_no_sessions(lab):
    deprecated = "jupyter6.4-cpu-ubuntu22.04-runtime"
    lab.add(SLIM_IMAGE, "lab/session", deprecated)
    assert lab.checked(deprecated)["check"]["state"] == "passed"
    assert lab.set_state(deprecated, "stable")[0] == 200
    assert lab.set_state(deprecated, "deprecated")[0] == 200
    user = lab.user()
    status, body = user.post("/api/v1/sessions", {"image": deprecated, "gpus": 1})
    assert status == 400 and "is deprecated" in body["error"]["message"], body
    status, body = lab.set_state(deprecated, "canary")
    assert status == 400 and "cannot go from deprecated to canary" in body["error"]["message"], body
    assert lab.set_state(deprecated, "retired")[0] == 200
    status, listed = user.get("/api/v1/images")
    assert deprecated not in [entry["tag"] for entry in listed["images"]]

    too_new = "jupyter6.4-cuda12.8-runtime"
    lab.add(SLIM_IMAGE, "lab/session", too_new)
    image = lab.checked(too_new)
    assert image["runnable"] is False and image["nodes"][0]["able"] is False, image
    assert lab.set_state(too_new, "stable")[0] == 200
    status, body = user.post("/api/v1/sessions", {"image": too_new, "gpus": 1})
    assert status == 400 and "needs CUDA 12.8" in body["error"]["message"], body
    assert "supports 12.4" in body["error"]["message"]


def test_admins_run_the_catalog_from_the_command_line(lab):
    cli = lab.cli

    reference = lab.registry.push(SLIM_IMAGE, "lab/cli:jupyter6.4-cpu-debian11-runtime")
    added = cli("admin", "image-add", reference, "--prepull")
    assert added.returncode == 0, added.stderr
    assert "state:      testing" in added.stdout and "@sha256:" in added.stdout
    tag = "jupyter6.4-cpu-debian11-runtime"
    lab.checked(tag)
    listed = cli("images")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(tag))
    assert "testing" in row and "passed" in row and "A100-80GB" in row, row
    promoted = cli("admin", "image-set", tag, "--state", "stable", "--default")
    assert promoted.returncode == 0 and "state:      stable (default)" in promoted.stdout, promoted
    refused = cli("admin", "image-set", tag, "--state", "canary")
    assert refused.returncode != 0 and "cannot go from stable to canary" in refused.stderr, refused


def test_a_broken_canary_halts_itself_and_new_sessions_get_the_stable_image(lab):
    stable, canary, family = "jupyter6.4-cpu-fedora40-runtime", "jupyter6.4-cpu-fedora41-runtime", "jupyter6.4-lab"
    lab.add(SLIM_IMAGE, "lab/session", stable)
    # Its contract holds (Jupyter is there), but Jupyter never answers once started: it says
    # why on stderr, which its owner reads with `gpupool logs`.
    hangs = derive("gpupool/e2e-jupyter-hangs:2",
                   "printf '#!/bin/sh\\necho \"jupyter: the notebook package is broken\" >&2\\nexec sleep 100000\\n' "
                   "> /usr/local/bin/jupyter && chmod 755 /usr/local/bin/jupyter")
    lab.add(hangs, "lab/hangs", canary)
    assert lab.checked(stable)["check"]["state"] == "passed"
    assert lab.checked(canary)["check"]["state"] == "passed"
    assert lab.set_state(stable, "stable")[0] == 200
    assert lab.set_state(canary, "canary")[0] == 200
    status, rollout = lab.admin.call("PUT", f"/api/v1/image-rollouts/{family}",
                                     {"stable": stable, "canary": canary, "percent": 100, "halt_failures": 2})
    assert status == 200 and rollout["state"] == "rolling", rollout

    user = lab.user()
    assert lab.admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 100})[0] == 200
    try:
        assert lab.admin.post(f"/api/v1/users/{user.name}/balance", {"amount": 50, "idempotency_key": "k"})[0] == 201
        failed = []
        for _ in range(2):
            status, session = user.post("/api/v1/sessions", {"image": family, "gpus": 1})
            assert status == 201, session
            assert session["image"] == canary and session["image_family"] == family, session
            failed.append(session["id"])
        for session_id in failed:
            ended = wait_for_state(user, session_id, {"ended"}, timeout=120)
            assert ended["end_reason"] == "failed" and "did not answer" in ended["reason"], ended
        logs = lab.cli("logs", failed[0], api=user)
        assert logs.returncode == 0, logs.stderr
        assert "did not answer" in logs.stdout and "jupyter: the notebook package is broken" in logs.stdout, logs.stdout
        assert lab.cli("logs", failed[0]).returncode == 0, "an admin reads it too"
        stranger = lab.user()
        assert stranger.get(f"/api/v1/sessions/{failed[0]}/log")[0] == 404

        # Within a few seconds the roll-out halts on its own and says why.
        deadline = time.time() + 30
        while True:
            rollout = next(entry for entry in lab.admin.get("/api/v1/image-rollouts")[1]["rollouts"]
                           if entry["family"] == family)
            if rollout["state"] == "halted":
                break
            assert time.time() < deadline, rollout
            time.sleep(0.5)
        assert f"{canary} failed to start 2 of 2 sessions" in rollout["note"], rollout
        assert rollout["canary_record"] == {"sessions": 2, "failed": 2, "seconds_to_running": []}

        status, session = user.post("/api/v1/sessions", {"image": family, "gpus": 1})
        assert status == 201 and session["image"] == stable, session
        wait_for_state(user, session["id"], {"running"})
        user.call("DELETE", f"/api/v1/sessions/{session['id']}")
        wait_for_state(user, session["id"], {"ended"}, timeout=60)

        # The failed starts cost nothing; the audit log has the halt.
        entries = user.get("/api/v1/balance")[1]["entries"]
        assert not [entry for entry in entries if entry.get("session") in failed], entries
        audit = lab.admin.get("/api/v1/audit?actor=gpupool")[1]["entries"]
        assert any(entry["action"] == "rollout halted" and entry["target"] == f"family={family}"
                   for entry in audit), audit
        users_view = user.get("/api/v1/image-rollouts")[1]["rollouts"]
        assert {"family": family, "stable": stable} in users_view
        listed = lab.cli("admin", "rollout-ls")
        assert listed.returncode == 0 and "state:      halted: " + canary in listed.stdout, listed
    finally:
        lab.admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 0})


def test_a_session_without_a_gpu_sets_up_at_the_cpu_price(lab):
    user = lab.user()
    assert lab.admin.call("PUT", "/api/v1/prices/CPU", {"per_gpu_hour": 36})[0] == 200  # 0.01 a CPU-second
    try:
        assert lab.admin.post(f"/api/v1/users/{user.name}/balance", {"amount": 50, "idempotency_key": "k"})[0] == 201
        status, session = user.post("/api/v1/sessions", {"gpus": 0, "cpus": 2, "image": "jupyter6.4-cpu-debian12-devel"})
        assert status == 201, session
        running = wait_for_state(user, session["id"], {"running"})
        assert running["gpus"]["count"] == 0 and running["cost"]["hourly_rate"] == 72, running
        pool = user.get("/api/v1/pool")[1]
        assert pool["gpu_models"][0]["free"] == pool["gpu_models"][0]["total"], pool
        env = subprocess.run(["docker", "inspect", "-f", "{{json .Config.Env}}", f"gpupool-{session['id']}"],
                             capture_output=True, text=True, check=True).stdout
        assert "NVIDIA_VISIBLE_DEVICES=void" in env
        time.sleep(1.5)
        user.call("DELETE", f"/api/v1/sessions/{session['id']}")
        wait_for_state(user, session["id"], {"ended"}, timeout=60)
        charge = next(entry for entry in user.get("/api/v1/balance")[1]["entries"] if entry["kind"] == "charge")
        assert charge["session"] == session["id"] and charge["amount"] < 0, charge
        assert "2 × CPU (no GPU)" in charge["note"], charge
    finally:
        lab.admin.call("PUT", "/api/v1/prices/CPU", {"per_gpu_hour": 0})


def in_session(session_id, shell, user="0"):
    return subprocess.run(["docker", "exec", "-u", user, f"gpupool-{session_id}", "sh", "-c", shell],
                          capture_output=True, text=True, timeout=60)


def saved(api, tag, timeout=300):
    """The user's image once saved and checked; fails on a failed save."""
    deadline = time.time() + timeout
    while True:
        status, mine = api.get("/api/v1/my-images")
        assert status == 200, mine
        failed = [save for save in mine["saves"] if save["tag"] == tag and save["state"] == "failed"]
        assert not failed, failed
        image = next((image for image in mine["images"] if image["tag"] == tag), None)
        if image and image["check"]["state"] != "pending":
            return image
        assert time.time() < deadline, f"{tag} was not saved:\n{mine}"
        time.sleep(1)


def test_a_saved_session_starts_new_sessions_with_its_files_and_none_of_its_secrets(lab):
    user = lab.user()
    other = lab.user()
    status, session = user.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    first = session["id"]
    wait_for_state(user, first, {"running"})
    # The user's work in the container's own filesystem, scratch in /tmp, and a file of the
    # image removed (as `apt remove` would).
    uid = in_session(first, f"stat -c %u /home/{user.name}").stdout.strip()
    assert in_session(first, "echo kept > /var/tmp/work.txt && echo scratch > /tmp/scratch", user=uid).returncode == 0
    assert in_session(first, "rm /etc/issue.net").returncode == 0

    assert user.post(f"/api/v1/sessions/{first}/image", {"name": "Bad Name"})[0] == 400
    assert other.post(f"/api/v1/sessions/{first}/image", {"name": "env"})[0] == 404
    status, save = user.post(f"/api/v1/sessions/{first}/image", {"name": "env"})
    assert status == 202 and save["state"] == "saving" and save["tag"] == f"{user.name}/env", save
    status, body = user.post(f"/api/v1/sessions/{first}/image", {"name": "env2"})
    assert status == 409 and "being saved" in body["error"]["message"], body

    tag = f"{user.name}/env"
    image = saved(user, tag)
    assert image["check"]["state"] == "passed" and image["owner"] == user.name, image
    assert image["reference"].startswith(f"{lab.registry.address}/saved/{user.name}/env@sha256:"), image
    assert 0 < image["size_bytes"] < 50_000_000, image
    # Only its owner sees it, or may start from it.
    assert tag not in [listed["tag"] for listed in other.get("/api/v1/images")[1]["images"]]
    assert tag in [listed["tag"] for listed in user.get("/api/v1/images")[1]["images"]]
    status, body = other.post("/api/v1/sessions", {"image": tag, "gpus": 1})
    assert status == 404, body

    # What went to the registry: the user's files, none of gpupool's, the image's own settings.
    subprocess.run(["docker", "pull", image["reference"]], check=True, capture_output=True, timeout=120)
    config = subprocess.run(["docker", "image", "inspect", "-f", "{{json .Config}}", image["reference"]],
                            capture_output=True, text=True, check=True).stdout
    assert "GPUPOOL" not in config and "io.gpupool.session" not in config and "gpupool-image-save" not in config, config
    inside = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", image["reference"], "-c",
         "cat /var/tmp/work.txt; ls -A /tmp /run; for f in /etc/gpupool /etc/ld.so.preload /etc/issue.net "
         "/home/" + user.name + "; do [ -e $f ] && echo present: $f; done; true"],
        capture_output=True, text=True, timeout=60)
    assert inside.stdout.startswith("kept\n") and "present" not in inside.stdout and "scratch" not in inside.stdout, inside
    subprocess.run(["docker", "rmi", image["reference"]], capture_output=True)

    # A new session from it has the file; the first one goes on meanwhile.
    status, second = user.post("/api/v1/sessions", {"image": tag, "gpus": 1})
    assert status == 201, second
    wait_for_state(user, second["id"], {"running"})
    assert in_session(second["id"], "cat /var/tmp/work.txt", user=uid).stdout == "kept\n"

    # The quota (2 here), a taken name, and removal.
    status, body = user.post(f"/api/v1/sessions/{second['id']}/image", {"name": "env"})
    assert status == 409 and "already" in body["error"]["message"], body
    # From the command line.
    result = lab.cli("save-image", second["id"], "env-b", "--wait", api=user)
    assert result.returncode == 0 and "Your home is not part of it" in result.stdout, result
    assert f"gpupool run --image {user.name}/env-b" in result.stdout, result.stdout
    status, body = user.post(f"/api/v1/sessions/{first}/image", {"name": "env-c"})
    assert status == 409 and "the most this pool allows" in body["error"]["message"], body
    listed = lab.cli("my-images", api=user)
    assert listed.returncode == 0 and f"{user.name}/env-b" in listed.stdout and "ready" in listed.stdout, listed
    assert lab.cli("my-images", "rm", "env-b", api=user).returncode == 0
    assert user.call("DELETE", "/api/v1/my-images/env-b")[0] == 404
    status, body = user.post("/api/v1/sessions", {"image": f"{user.name}/env-b", "gpus": 1})
    assert status == 404, body
    for session_id in (first, second["id"]):
        user.call("DELETE", f"/api/v1/sessions/{session_id}")
        wait_for_state(user, session_id, {"ended"}, timeout=60)
    status, body = user.post(f"/api/v1/sessions/{first}/image", {"name": "late"})
    assert status == 409 and "only a running session" in body["error"]["message"], body


def test_the_catalog_in_a_browser(lab):
    fresh = "jupyter6.4-cpu-debian10-runtime"
    lab.add(SLIM_IMAGE, "lab/session", fresh)
    assert lab.checked(fresh)["check"]["state"] == "passed"
    # From the tests above: a canary to deprecate, one too new for any driver, one without sshd.
    deprecated, too_new, no_ssh = ("jupyter6.4-cpu-debian12-runtime", "jupyter6.4-cuda12.8-runtime",
                                   "jupyter6.4-cpu-debian12-devel")
    assert lab.set_state(deprecated, "deprecated")[0] == 200
    name = "imgb" + secrets.token_hex(3)
    password = "pw-" + secrets.token_hex(8)
    assert lab.admin.post("/api/v1/users", {"username": name, "password": password})[0] == 201
    lab.volumes.append("gpupool-home-" + name)
    bad = lab.registry.push(SLIM_IMAGE, "lab/session:latest")
    user = Api(lab.server.base, mint_token(lab.server.base, name, password))
    # A session of the canary whose Jupyter hangs (from the roll-out test): it fails.
    status, failed = user.post("/api/v1/sessions", {"gpus": 1, "image": "jupyter6.4-cpu-fedora41-runtime"})
    assert status == 201, failed
    status, session = user.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    wait_for_state(user, session["id"], {"running"})
    assert wait_for_state(user, failed["id"], {"ended"}, timeout=120)["end_reason"] == "failed"
    try:
        returncode, output = run_to_end(["node", "images.mjs", lab.server.base, ADMIN_PASSWORD, name, password, fresh,
                                         deprecated, too_new, no_ssh, bad, "jupyter6.4-lab", session["id"],
                                         failed["id"], SCREENSHOTS], BROWSER_TESTS, timeout=300)
        print(output)
        assert returncode == 0, output
    finally:
        user.call("DELETE", f"/api/v1/sessions/{session['id']}")
