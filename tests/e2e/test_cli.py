"""The CLI, thin over the API: login, run, ls, ssh, stop — as a user types them."""
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from conftest import BINARY, ADMIN_PASSWORD, free_port, wait_for_state


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
    # An image without code-server: no VS Code in the browser, and where to turn instead.
    refused = cli(home, "open", session_id, "--vscode")
    assert refused.returncode == 1 and "gpupool ssh --config " + session_id in refused.stderr, refused

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
    nodes = cli(home, "admin", "nodes")
    assert nodes.returncode == 0, nodes.stderr
    ours = next(line for line in nodes.stdout.splitlines() if line.startswith(server.node))
    assert re.search(r"ready .* Docker \d+\.\d+\S* \(API 1\.\d+\); simulated$", ours), ours
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


def test_cli_manages_tokens_passwords_and_access(server, make_user):
    """`gpupool token`, `gpupool passwd`, `gpupool admin user-set` and `gpupool admin audit`."""
    name, user = make_user("cleo")
    user_password, password = user.password, "cleo-second-password"
    admin_home = tempfile.mkdtemp(prefix="gpupool-cli-admin-")
    assert cli(admin_home, "login", server.base, "-u", "admin", "--password-stdin",
               stdin=ADMIN_PASSWORD + "\n").returncode == 0
    home = tempfile.mkdtemp(prefix="gpupool-cli-cleo-")
    assert cli(home, "login", server.base, "-u", name, "--password-stdin", stdin=user_password + "\n").returncode == 0

    listed = cli(home, "token", "ls")
    assert listed.returncode == 0, listed.stderr
    mine = [line.split() for line in listed.stdout.splitlines()[1:]]
    current = [row for row in mine if "(this" in row]
    assert len(current) == 1 and current[0][1:3] == ["api_token", "cli"], listed.stdout
    assert current[0][4] != "-", "a CLI token expires"

    renewed = cli(home, "token", "renew")
    assert renewed.returncode == 0 and "expires at 20" in renewed.stdout, renewed.stderr

    # passwd: a wrong current password is refused; the right one changes it.
    wrong = cli(home, "passwd", "--password-stdin", stdin=f"not-it\n{password}\n")
    assert wrong.returncode == 1 and "current password is wrong" in wrong.stderr
    changed = cli(home, "passwd", "--password-stdin", stdin=f"{user_password}\n{password}\n")
    assert changed.returncode == 0 and "password changed" in changed.stdout, changed.stderr
    assert cli(tempfile.mkdtemp(), "login", server.base, "-u", name, "--password-stdin",
               stdin=password + "\n").returncode == 0

    # Admin: another user's tokens, one revoked; the user's saved token then fails.
    theirs = cli(admin_home, "token", "ls", "--user", name)
    assert theirs.returncode == 0, theirs.stderr
    cli_ids = [line.split()[0] for line in theirs.stdout.splitlines()[1:] if line.split()[2] == "cli"]
    assert len(cli_ids) >= 2, theirs.stdout
    for token_id in cli_ids:
        revoked = cli(admin_home, "token", "revoke", token_id, "--user", name)
        assert revoked.returncode == 0, revoked.stderr
    assert cli(home, "ls").returncode == 1, "a revoked token is refused"
    assert cli(admin_home, "token", "revoke", "0123456789abcdef", "--user", name).returncode == 1

    # Plain users cannot read others' tokens or change access.
    assert cli(home, "login", server.base, "-u", name, "--password-stdin", stdin=password + "\n").returncode == 0
    refused = cli(home, "token", "ls", "--user", "admin")
    assert refused.returncode == 1 and "admin" in refused.stderr
    assert cli(home, "admin", "user-set", name, "--grant-admin").returncode == 1

    # Disable: the user's token stops at once and their sign-in is refused; enable again.
    disabled = cli(admin_home, "admin", "user-set", name, "--disable")
    assert disabled.returncode == 0 and f"{name}: user, disabled" in disabled.stdout, disabled.stderr
    assert cli(home, "ls").returncode == 1
    again = cli(home, "login", server.base, "-u", name, "--password-stdin", stdin=password + "\n")
    assert again.returncode == 1 and "disabled" in again.stderr
    assert cli(admin_home, "admin", "user-set", name).returncode == 1, "nothing to change"
    enabled = cli(admin_home, "admin", "user-set", name, "--enable", "--grant-admin")
    assert enabled.returncode == 0 and f"{name}: admin, enabled" in enabled.stdout, enabled.stderr
    assert cli(admin_home, "admin", "user-set", name, "--revoke-admin").returncode == 0

    # The audit log shows what happened, filtered.
    audit = cli(admin_home, "admin", "audit", "--actor", "admin", "--action", "PATCH /api/v1/users", "--limit", "3")
    assert audit.returncode == 0, audit.stderr
    rows = audit.stdout.splitlines()[1:]
    assert len(rows) == 4 and all(f"username={name}" in row for row in rows[:3]), audit.stdout
    assert rows[3].startswith("more: --before "), audit.stdout
    failed = cli(admin_home, "admin", "audit", "--action", "login failed", "--since", "2020-01-01T00:00:00Z")
    assert failed.returncode == 0 and name in failed.stdout, failed.stdout
    bad = cli(admin_home, "admin", "audit", "--since", "yesterday")
    assert bad.returncode == 1 and "since" in bad.stderr


def test_cli_lends_datasets_to_groups(server, admin):
    """`gpupool admin dataset set|ls|rm`; sessions' mounts are in the multi-node test."""
    home = tempfile.mkdtemp(prefix="gpupool-cli-dataset-")
    assert cli(home, "login", server.base, "-u", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n").returncode == 0
    group = "cli" + secrets.token_hex(3)
    assert admin.post("/api/v1/groups", {"name": group})[0] == 201
    refused = cli(home, "admin", "dataset", "set", "hostetc", "/etc/ssl", "--group", group)
    assert refused.returncode == 1 and "the host's own" in refused.stderr, refused.stderr
    lent = cli(home, "admin", "dataset", "set", "mnist", "/srv/datasets/mnist", "--group", group)
    assert lent.returncode == 0, lent.stderr
    assert "/datasets/mnist" in lent.stdout and group in lent.stdout, lent.stdout
    listed = cli(home, "admin", "dataset", "ls")
    assert any(line.split()[:2] == ["mnist", "/srv/datasets/mnist"] and group in line
               for line in listed.stdout.splitlines()), listed.stdout
    assert cli(home, "admin", "dataset", "rm", "mnist").returncode == 0
    assert cli(home, "admin", "dataset", "rm", "mnist").returncode == 1
    shutil.rmtree(home, ignore_errors=True)


def test_cli_keeps_sessions_and_sets_idle_policies(server, admin):
    """`gpupool keep`, `gpupool admin idle-policy set|ls|rm` and `gpupool admin idle-exempt`;
    reclaim itself is in test_idle_reclaim.py."""
    home = tempfile.mkdtemp(prefix="gpupool-cli-idle-")
    assert cli(home, "login", server.base, "-u", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n").returncode == 0
    group = "idle" + secrets.token_hex(3)
    assert admin.post("/api/v1/groups", {"name": group})[0] == 201
    bad = cli(home, "admin", "idle-policy", "set", "--group", group, "--window", "90s")
    assert bad.returncode == 1 and "whole minutes" in bad.stderr, bad.stderr
    both = cli(home, "admin", "idle-policy", "set", "--group", group, "--user", "admin")
    assert both.returncode == 1 and "exactly one of --user and --group" in both.stderr
    set_ = cli(home, "admin", "idle-policy", "set", "--group", group, "--window", "4h", "--grace", "30m",
               "--keeps", "5")
    assert set_.returncode == 0 and "window 4h, grace 30m" in set_.stdout, set_.stdout + set_.stderr
    listed = cli(home, "admin", "idle-policy", "ls")
    assert any(line.split() == ["group", group, "4h", "30m", "5", "default"] for line in listed.stdout.splitlines()), \
        listed.stdout
    assert cli(home, "admin", "idle-policy", "rm", "--group", group).returncode == 0
    assert cli(home, "admin", "idle-policy", "rm", "--group", group).returncode == 1

    status, session = admin.post("/api/v1/sessions", {"gpus": 1, "cpus": 0.5, "memory_gb": 1})
    assert status == 201, session
    try:
        wait_for_state(admin, session["id"], {"running"})
        kept = cli(home, "keep", session["id"])
        assert kept.returncode == 0 and "kept; 2 more time(s) allowed" in kept.stdout, kept.stdout + kept.stderr
        exempt = cli(home, "admin", "idle-exempt", session["id"])
        assert exempt.returncode == 0 and "exempt from idle reclaim" in exempt.stdout
        assert admin.get(f"/api/v1/sessions/{session['id']}")[1]["idle"]["exempt"] is True
        assert cli(home, "admin", "idle-exempt", session["id"], "--off").returncode == 0
        assert cli(home, "keep", "nosuchsession").returncode == 1
    finally:
        admin.call("DELETE", f"/api/v1/sessions/{session['id']}")
        shutil.rmtree(home, ignore_errors=True)


def bash_completions(home, words):
    """What the completion script offers after `words` (the last one being completed)."""
    script = (f'eval "$({BINARY} completion bash)"; COMP_WORDS=({" ".join(repr(w) for w in words)}); '
              'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _gpupool; printf "%s\\n" "${COMPREPLY[@]}"')
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"))
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_cli_guides_keys_ssh_config_copies_and_completes(server, make_user):
    """A user with no key is offered theirs; `ssh --config` then `ssh NAME`; `cp` both ways;
    `keys add|ls|rm`; the GPU model a session was placed on; shell completion."""
    name, api = make_user("guide")
    home = tempfile.mkdtemp(prefix="gpupool-cli-guide-")
    login = cli(home, "login", server.base, "-u", name, "--password-stdin", stdin=api.password + "\n")
    assert login.returncode == 0, login.stderr
    key = os.path.join(home, ".ssh", "id_ed25519")

    run = cli(home, "run", "--gpus", "1")
    assert run.returncode == 0, run.stderr
    session_id = run.stdout.split()[1]
    placed = api.get(f"/api/v1/sessions/{session_id}")[1]["gpus"]["placed_model"]
    assert placed == "A100-80GB"
    assert f"1 × {placed}" in run.stdout
    assert any(line.startswith(session_id) and f"1×{placed}" in line for line in cli(home, "ls").stdout.splitlines())
    assert cli(home, "ls", "--quiet").stdout.split() == [session_id]

    # No key at all: a "no" ends with the way to add one; a "yes" makes a pair, registers it,
    # waits for the session to take it, and logs in.
    assert "no SSH keys registered" in cli(home, "keys", "ls").stdout
    declined = cli(home, "ssh", session_id, "--", "whoami", stdin="n\n")
    assert declined.returncode == 1
    assert f"Create a key pair ({key})" in declined.stderr and "gpupool keys add" in declined.stderr
    shell = cli(home, "ssh", session_id, "--", "whoami", stdin="y\n")
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.strip() == name
    assert os.path.exists(key) and os.path.exists(key + ".pub")
    fingerprint = subprocess.run(["ssh-keygen", "-lf", key + ".pub"], capture_output=True, text=True).stdout.split()[1]
    assert fingerprint in cli(home, "keys", "ls").stdout
    # Its key removed, the user is offered the one they have, and logs in again.
    assert cli(home, "keys", "rm", fingerprint).returncode == 0
    assert api.get("/api/v1/me")[1]["ssh_keys"] == []
    shell = cli(home, "ssh", session_id, "--", "whoami", stdin="y\n")
    assert shell.returncode == 0, shell.stderr
    assert f"Register {key}.pub? [Y/n]" in shell.stderr and shell.stdout.strip() == name
    # The command form without "--", and ssh's own options before "--".
    assert cli(home, "ssh", session_id, "hostname").stdout.strip() == session_id
    assert cli(home, "ssh", session_id, "-o", "LogLevel=ERROR", "--", "echo", "ok").stdout.strip() == "ok"

    # `ssh --config`: an entry plain ssh (and VS Code) reaches by name, the host key pinned.
    user_config = os.path.join(home, ".ssh", "config")
    with open(user_config, "w") as handle:
        handle.write("Host *\n  ServerAliveInterval 30\n")
    configured = cli(home, "ssh", "--config", session_id)
    assert configured.returncode == 0, configured.stderr
    assert f"ssh gpupool-{session_id}" in configured.stdout
    with open(user_config) as handle:
        written = handle.read()
    assert written.endswith("Host *\n  ServerAliveInterval 30\n"), written
    by_name = subprocess.run(["ssh", "-F", user_config, "-o", "BatchMode=yes", f"gpupool-{session_id}", "hostname"],
                             capture_output=True, text=True, timeout=60)
    assert by_name.returncode == 0, by_name.stderr
    assert by_name.stdout.strip() == session_id
    # What VS Code's Remote-SSH does over that entry: a port of the session forwarded to this
    # machine (here Jupyter's, which answers its API with a version).
    local_port = free_port()
    tunnel = subprocess.Popen(["ssh", "-F", user_config, "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-N",
                               "-L", f"127.0.0.1:{local_port}:127.0.0.1:8888", f"gpupool-{session_id}"])
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{local_port}/s/{session_id}/api", timeout=5) as answer:
                    assert "version" in json.loads(answer.read())
                    break
            except (urllib.error.URLError, ConnectionError):
                assert tunnel.poll() is None and time.time() < deadline, "the forwarded port never answered"
                time.sleep(0.5)
    finally:
        tunnel.terminate()
        tunnel.wait(timeout=30)

    # `cp` both ways, byte for byte, and a folder with -r.
    payload = os.path.join(home, "data.bin")
    with open(payload, "wb") as handle:
        handle.write(secrets.token_bytes(3 * 1024 * 1024 + 7))
    assert cli(home, "cp", payload, f"{session_id}:").returncode == 0
    back = os.path.join(home, "back.bin")
    copied = cli(home, "cp", f"{session_id}:data.bin", back)
    assert copied.returncode == 0, copied.stderr
    with open(payload, "rb") as sent, open(back, "rb") as received:
        assert sent.read() == received.read()
    folder = os.path.join(home, "results")
    os.makedirs(os.path.join(folder, "run1"))
    with open(os.path.join(folder, "run1", "loss.csv"), "w") as handle:
        handle.write("step,loss\n1,0.5\n")
    assert cli(home, "cp", "-r", folder, f"{session_id}:").returncode == 0
    assert cli(home, "ssh", session_id, "cat", "results/run1/loss.csv").stdout == "step,loss\n1,0.5\n"
    refused = cli(home, "cp", payload, os.path.join(home, "elsewhere"))
    assert refused.returncode == 1 and "ID:PATH" in refused.stderr

    # `keys`: a private key is never sent; the same key twice is kept once; removed by comment.
    private = cli(home, "keys", "add", key)
    assert private.returncode == 1 and "private key" in private.stderr
    assert "already registered" in cli(home, "keys", "add").stdout
    laptop = os.path.join(home, "laptop")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "guide-laptop", "-f", laptop], check=True)
    assert cli(home, "keys", "add", laptop + ".pub").returncode == 0
    listed = cli(home, "keys", "ls").stdout
    assert fingerprint in listed and "guide-laptop" in listed
    assert cli(home, "keys", "rm", "no-such-key").returncode == 1
    assert cli(home, "keys", "rm", "guide-laptop").returncode == 0
    assert [key["fingerprint"] for key in api.get("/api/v1/me")[1]["ssh_keys"]] == [fingerprint]

    # Completion: subcommands, options, and the user's open sessions where an id goes.
    assert bash_completions(home, [BINARY, "ss"]) == ["ssh"]
    assert sorted(bash_completions(home, [BINARY, "keys", ""])) == ["add", "ls", "rm"]
    assert "--config" in bash_completions(home, [BINARY, "ssh", "--"])
    assert bash_completions(home, [BINARY, "stop", ""]) == [session_id]
    if shutil.which("zsh"):
        loaded = subprocess.run(["zsh", "-c", f'autoload -U compinit && compinit -u && eval "$({BINARY} completion zsh)" '
                                              '&& whence -w _gpupool'], capture_output=True, text=True, timeout=60)
        assert loaded.returncode == 0 and "function" in loaded.stdout, loaded.stderr

    assert cli(home, "stop", session_id).returncode == 0
