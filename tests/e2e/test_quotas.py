"""Quotas end to end: set with the CLI, enforced by the server under parallel requests."""
import subprocess
import tempfile
import threading

from conftest import ADMIN_PASSWORD, Api, mint_token, wait_for_state
from test_cli import cli


def test_admin_sets_group_quota_and_parallel_requests_never_exceed_it(server, make_user):
    home = tempfile.mkdtemp(prefix="gpupool-cli-admin-")
    assert cli(home, "login", server.base, "-u", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n").returncode == 0

    added = cli(home, "admin", "user-add", "erin", stdin="erin-password-1\n")
    assert added.returncode == 0, added.stderr
    assert "created user erin" in added.stdout
    assert cli(home, "admin", "group-add", "vision").returncode == 0
    assert cli(home, "admin", "group-members", "vision", "erin").returncode == 0
    quota = cli(home, "admin", "quota-set", "--group", "vision", "--gpus", "2", "--session-hours", "4")
    assert quota.returncode == 0, quota.stderr
    assert "gpus 2" in quota.stdout and "session hours 4" in quota.stdout
    listing = cli(home, "admin", "quota-ls").stdout
    assert "vision" in listing
    assert cli(home, "admin", "quota-set", "--gpus", "1").returncode == 1, "needs --user or --group"
    drained = cli(home, "admin", "drain", server.node)
    assert drained.returncode == 0 and "drained" in drained.stdout
    assert cli(home, "admin", "undrain", server.node).returncode == 0
    assert cli(home, "admin", "drain", "no-such-node").returncode == 1

    erin = Api(server.base, mint_token(server.base, "erin", "erin-password-1"))
    status, first = erin.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, first
    assert first["max_hours"] == 4, "the quota's session hours become the time limit"

    results = []
    def request():
        results.append(erin.post("/api/v1/sessions", {"gpus": 1}))
    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = [body for status, body in results if status == 201]
    refused = [body for status, body in results if status == 403]
    assert len(accepted) == 1, results
    assert len(refused) == 5
    assert refused[0]["error"]["code"] == "quota_exceeded"
    assert "group vision may hold 2 GPUs at once" in refused[0]["error"]["message"]

    for session in [first, *accepted]:
        erin.call("DELETE", f"/api/v1/sessions/{session['id']}")
    for session in [first, *accepted]:
        wait_for_state(erin, session["id"], {"ended"}, timeout=60)
    subprocess.run(["docker", "volume", "rm", "-f", "gpupool-home-erin"], capture_output=True)


def test_per_model_gpu_quota_set_with_the_cli_and_enforced(server, admin, make_user):
    home = tempfile.mkdtemp(prefix="gpupool-cli-admin-")
    assert cli(home, "login", server.base, "-u", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n").returncode == 0
    name, api = make_user("modelq")
    quota = cli(home, "admin", "quota-set", "--user", name, "--model-gpus", "A100-80GB=1")
    assert quota.returncode == 0, quota.stderr
    assert "A100-80GB GPUs: 1" in quota.stdout
    assert "(A100-80GB GPUs)" in cli(home, "admin", "quota-ls").stdout
    bad = cli(home, "admin", "quota-set", "--user", name, "--model-gpus", "A100-80GB")
    assert bad.returncode == 1 and "MODEL=N" in bad.stderr

    for body in [{"max_gpus_by_model": []}, {"max_gpus_by_model": {"A100-80GB": -1}},
                 {"max_gpus_by_model": {"": 1}}, {"max_gpus_by_model": {"A100-80GB": 1.5}}]:
        status, reply = admin.call("PUT", f"/api/v1/quotas/user/{name}", body)
        assert status == 400 and "max_gpus_by_model" in reply["error"]["message"], (body, reply)

    status, first = api.post("/api/v1/sessions", {"gpus": 1, "gpu_model": "A100-80GB"})
    assert status == 201, first
    status, refused = api.post("/api/v1/sessions", {"gpus": 1, "gpu_model": "A100-80GB"})
    assert status == 403 and refused["error"]["code"] == "quota_exceeded", refused
    assert "may hold 1 A100-80GB GPUs at once" in refused["error"]["message"]
    status, waiting = api.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, waiting
    assert waiting["state"] == "queued"
    assert "waiting within the quota" in waiting["reason"], waiting

    api.call("DELETE", f"/api/v1/sessions/{first['id']}")
    wait_for_state(api, first["id"], {"ended"}, timeout=60)
    wait_for_state(api, waiting["id"], {"scheduled", "starting", "running"}, timeout=60)
    api.call("DELETE", f"/api/v1/sessions/{waiting['id']}")
    wait_for_state(api, waiting["id"], {"ended"}, timeout=60)
