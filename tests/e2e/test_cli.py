"""The CLI, thin over the API: login, run, ls, ssh, stop — as a user types them."""
import os
import subprocess
import tempfile

from conftest import BINARY, ADMIN_PASSWORD


def cli(home, *args, stdin=None, extra_env=None):
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"), **(extra_env or {}))
    env.pop("GPUPOOL_URL", None)
    env.pop("GPUPOOL_TOKEN", None)
    return subprocess.run([BINARY, *args], input=stdin, capture_output=True, text=True, env=env, timeout=300)


def test_cli_login_run_ls_ssh_stop(server, admin):
    home = tempfile.mkdtemp(prefix="gpupool-cli-")
    key = os.path.join(home, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    with open(key + ".pub") as handle:
        status, _ = admin.call("PUT", "/api/v1/me/ssh-keys", {"keys": [handle.read().strip()]})
    assert status == 200

    assert cli(home, "ls").returncode == 1, "not logged in yet"
    wrong = cli(home, "login", server.base, "-u", "admin", "--password-stdin", stdin="wrong-password\n")
    assert wrong.returncode == 1 and "wrong username or password" in wrong.stderr

    login = cli(home, "login", server.base, "-u", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    assert login.returncode == 0, login.stderr
    config = os.path.join(home, ".config", "gpupool", "config.json")
    assert oct(os.stat(config).st_mode & 0o777) == "0o600"

    run = cli(home, "run", "--gpus", "1")
    assert run.returncode == 0, run.stderr
    first_line = run.stdout.splitlines()[0]
    session_id = first_line.split()[1]
    assert first_line.endswith("running")
    assert "jupyter: http://127.0.0.1:" in run.stdout
    assert "ssh -p " in run.stdout

    listing = cli(home, "ls")
    assert listing.returncode == 0
    assert any(session_id in line and "running" in line for line in listing.stdout.splitlines())

    # `gpupool ssh ID [ssh options] -- command`: the options go to ssh before the destination.
    # No StrictHostKeyChecking=no: the CLI checks the host key the server reports.
    shell = cli(home, "ssh", session_id, "-o", "BatchMode=yes", "-i", key, "--", "whoami")
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.strip() == "admin"

    # `gpupool open ID`: the gateway's link, handed to $BROWSER.
    opened = os.path.join(home, "opened")
    browser = os.path.join(home, "browser")
    with open(browser, "w") as handle:
        handle.write(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    os.chmod(browser, 0o755)
    env_browser = dict(BROWSER=browser)
    shown = cli(home, "open", session_id, extra_env=env_browser)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"{server.base}/s/{session_id}/"
    with open(opened) as handle:
        assert handle.read().strip() == shown.stdout.strip()

    assert "A100-80GB" in cli(home, "pool").stdout
    assert "pytorch1.13-cpu-debian12-runtime" in cli(home, "images").stdout

    stop = cli(home, "stop", session_id)
    assert stop.returncode == 0 and "stopping" in stop.stdout
    assert cli(home, "stop", "s-no-such").returncode == 1


def test_cli_runs_a_gpu_share(server):
    home = tempfile.mkdtemp(prefix="gpupool-cli-share-")
    assert cli(home, "login", server.base, "-u", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n").returncode == 0
    run = cli(home, "run", "--gpu-memory-gb", "10")
    assert run.returncode == 0, run.stderr
    assert "10 GB share of one GPU (simulated)" in run.stdout
    session_id = run.stdout.split()[1]
    inspect = subprocess.run(["docker", "inspect", "--format", "{{json .Config.Env}}", f"gpupool-{session_id}"],
                             capture_output=True, text=True)
    assert "GPUPOOL_GPU_MEMORY_LIMIT_MB=10240" in inspect.stdout
    assert cli(home, "stop", session_id).returncode == 0


def test_cli_sets_prices_and_shows_usage(server):
    home = tempfile.mkdtemp(prefix="gpupool-cli-usage-")
    assert cli(home, "login", server.base, "-u", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n").returncode == 0
    refused = cli(home, "admin", "price-set", "A100-80GB", "-3")
    assert refused.returncode == 1 and "per_gpu_hour" in refused.stderr
    priced = cli(home, "admin", "price-set", "A100-80GB", "1.25")
    assert priced.returncode == 0, priced.stderr
    assert "A100-80GB: 1.2500 credits per GPU-hour" in priced.stdout
    assert "A100-80GB" in cli(home, "prices").stdout and "1.2500" in cli(home, "prices").stdout
    usage = cli(home, "usage")
    assert usage.returncode == 0, usage.stderr
    assert usage.stdout.splitlines()[0].split() == ["SESSION", "USER", "STATE", "GPUS", "MODEL", "SECONDS",
                                                    "RATE/H", "COST"]
    assert usage.stdout.rstrip().endswith("credits")
    assert cli(home, "admin", "price-set", "A100-80GB", "0").returncode == 0

    before = cli(home, "balance").stdout.splitlines()[0]
    for _ in range(2):  # the same key twice: credited once
        topped = cli(home, "admin", "top-up", "admin", "7.5", "--key", "cli-test-1")
        assert topped.returncode == 0, topped.stderr
        assert "admin: +7.5000 credits (key cli-test-1)" in topped.stdout
    balance = cli(home, "balance")
    assert balance.returncode == 0, balance.stderr
    assert balance.stdout.count("top_up") == 1, balance.stdout
    assert float(balance.stdout.split()[1]) == float(before.split()[1]) + 7.5
    assert cli(home, "admin", "top-up", "admin", "1", "--key", "cli-test-1").returncode == 1, "another amount: 409"
