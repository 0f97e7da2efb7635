"""What a user does, against a real `gpupool up`, Docker engine, Jupyter and OpenSSH."""
import json
import subprocess
import time
import uuid

from conftest import SSH_OPTIONS, docker, run_in_kernel, ssh, wait_for_state

def eventually(check, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def test_user_gets_jupyter_and_ssh_and_keeps_a_home(server, make_user, key_pair):
    key_path, public_key = key_pair
    name, alice = make_user("alice")
    _, bob = make_user("bob")
    status, me = alice.call("PUT", "/api/v1/me/ssh-keys", {"keys": [public_key]})
    assert status == 200, me

    status, pool = alice.get("/api/v1/pool")
    free_before = pool["gpu_models"][0]["free"]

    status, session = alice.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    session = wait_for_state(alice, session["id"], {"running"})
    assert session["gpus"]["simulated"] is True
    assert session["node"] == server.node

    # Jupyter: a real kernel runs code through Jupyter's own API.
    assert run_in_kernel(session, "print(6 * 7)", alice) == "42\n"

    # The host key the API reports is the one sshd presents.
    scanned = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(session["ssh"]["port"]), "127.0.0.1"],
                             capture_output=True, text=True, timeout=30).stdout
    fingerprint = subprocess.run(["ssh-keygen", "-lf", "-"], input=scanned, capture_output=True, text=True).stdout
    assert session["ssh"]["host_key"]["fingerprint"] in fingerprint

    # SSH: public key as the non-root user; torch imports; no passwords, no root.
    result = ssh(session, key_path, "id -u && python3 -c 'import torch; print(torch.__version__)'")
    assert result.returncode == 0, result.stderr
    uid, torch_version = result.stdout.split()
    assert int(uid) != 0
    assert torch_version.startswith("1.13")
    capabilities = ssh(session, key_path, "grep CapEff /proc/self/status").stdout
    assert capabilities.split()[1] == "0000000000000000"
    effective = ssh(session, key_path, "/usr/sbin/sshd -T -f /etc/gpupool/sshd_config").stdout
    assert "permitrootlogin no" in effective
    assert "passwordauthentication no" in effective
    assert "kbdinteractiveauthentication no" in effective
    assert f"allowusers {name}" in effective
    password_attempt = subprocess.run(
        ["ssh", *SSH_OPTIONS, "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no",
         "-o", "PreferredAuthentications=password,keyboard-interactive", "-p", str(session["ssh"]["port"]),
         f"{name}@127.0.0.1", "true"], capture_output=True, text=True, timeout=60)
    assert password_attempt.returncode == 255
    assert "Permission denied (publickey)" in password_attempt.stderr
    assert ssh(session, key_path, "true", user="root").returncode == 255
    other_key = key_path + "-other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other_key], check=True)
    assert ssh(session, other_key, "true").returncode == 255
    # The authorized keys are root's: a key the user (or whoever holds a stolen key) adds to a
    # file of theirs grants nothing.
    with open(other_key + ".pub") as handle:
        other_public = handle.read().strip()
    planted = ssh(session, key_path, f"mkdir -p ~/.ssh && echo '{other_public}' >> ~/.ssh/authorized_keys; "
                                     "echo more >> /etc/gpupool/authorized_keys")
    assert "Permission denied" in planted.stderr
    assert ssh(session, other_key, "true").returncode == 255

    # Key changes reach the running session within a sync, with no restart.
    assert alice.call("PUT", "/api/v1/me/ssh-keys", {"keys": [public_key, other_public]})[0] == 200
    assert eventually(lambda: ssh(session, other_key, "true").returncode == 0), "an added key works"
    assert alice.call("PUT", "/api/v1/me/ssh-keys", {"keys": [other_public]})[0] == 200
    assert eventually(lambda: ssh(session, key_path, "true").returncode == 255), "a removed key is refused"
    assert alice.call("PUT", "/api/v1/me/ssh-keys", {"keys": [public_key]})[0] == 200
    assert eventually(lambda: ssh(session, key_path, "true").returncode == 0)
    assert ssh(session, other_key, "true").returncode == 255

    # No secret on a command line, in the container or on the host.
    token = next(entry.split("=", 1)[1] for entry in
                 json.loads(docker("inspect", f"gpupool-{session['id']}").stdout)[0]["Config"]["Env"]
                 if entry.startswith("GPUPOOL_TOKEN="))
    inside = ssh(session, key_path, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
    assert inside.returncode == 0 and "notebook" in inside.stdout, inside
    assert token not in inside.stdout
    assert token not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert run_in_kernel(session, "import os; print('GPUPOOL_TOKEN' in os.environ)", alice) == "False\n"

    # The home survives the session.
    marker = uuid.uuid4().hex
    assert ssh(session, key_path, f"echo {marker} > ~/keep.txt").returncode == 0
    # The user leaves symlinks where a root init might write or chown (~/.ssh → /etc); the next
    # session's init must follow none of them.
    assert ssh(session, key_path, "rm -rf ~/.ssh && ln -s /etc ~/.ssh && ln -s /etc/shadow ~/.profile-x"
               ).returncode == 0

    # Another user cannot see or stop it.
    assert bob.get(f"/api/v1/sessions/{session['id']}")[0] == 404
    assert bob.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] == 404

    container = f"gpupool-{session['id']}"
    inspect = json.loads(docker("inspect", container).stdout)[0]
    host_config = inspect["HostConfig"]
    assert host_config["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host_config["SecurityOpt"]
    assert host_config["Privileged"] is False
    assert host_config["PidsLimit"] > 0 and host_config["Memory"] > 0 and host_config["NanoCpus"] > 0
    assert host_config["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "10485760", "max-file": "2"}}
    assert not any("docker.sock" in (mount.get("Source") or "") for mount in inspect["Mounts"])

    status, stopped = alice.call("DELETE", f"/api/v1/sessions/{session['id']}")
    assert status == 200, stopped
    ended = wait_for_state(alice, session["id"], {"ended"}, timeout=60)
    assert ended["end_reason"] == "user_stopped"
    assert docker("inspect", container).returncode != 0, "the container is gone"
    status, pool = alice.get("/api/v1/pool")
    assert pool["gpu_models"][0]["free"] == free_before, "the GPU is free again"

    status, second = alice.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, second
    second = wait_for_state(alice, second["id"], {"running"})
    assert ssh(second, key_path, "cat ~/keep.txt").stdout.strip() == marker
    owners = ssh(second, key_path, "stat -c '%u %a' /etc /etc/shadow; ls /etc/authorized_keys")
    assert owners.stdout.split("\n")[:2] == ["0 755", "0 640"], owners
    assert "No such file" in owners.stderr, "nothing was written through the user's symlink"
    alice.call("DELETE", f"/api/v1/sessions/{second['id']}")
    wait_for_state(alice, second["id"], {"ended"}, timeout=60)
