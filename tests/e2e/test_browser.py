"""The web portal in a real browser: tests/browser/hostile.mjs plants hostile scripts (a
custom.js and an HTML file) in a
session of a `gpupool up` in its default configuration and opens it as the admin and as the
owner; tests/browser/portal.mjs drives Debian's chromium with
playwright-core against a `gpupool up` that gives each session its own origin
(--session-domain localhost: Chromium sends *.localhost to this machine), and saves
screenshots in docs/screenshots."""
import os
import secrets
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import (ADMIN_PASSWORD, Api, Server, docker, mint_token, remove_containers, run_in_kernel,
                      wait_for_state)

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_TESTS = os.path.join(HERE, "..", "browser")
SCREENSHOTS = os.path.join(HERE, "..", "..", "docs", "screenshots")


def run_to_end(command, cwd, timeout):
    """Runs command in its own process group; on timeout the whole group (node and every
    chromium process it started) is killed, so a stuck browser cannot hold the test open.
    Output goes to a file, not a pipe that a leftover child could keep open."""
    with tempfile.TemporaryFile(mode="w+") as output:
        process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        output.seek(0)
        return returncode, output.read()


# What hostile.mjs's pages run when opened: every attempt to act with the opener's login is
# recorded in window.attack (an HTTP status, or "blocked" when the browser refused).
ATTACK = """
window.attack = window.attack || {};
(async () => {
  const tryIt = async (name, url, init) => {
    try { const r = await fetch(url, { credentials: "include", ...init }); window.attack[name] = r.status; }
    catch (e) { window.attack[name] = "blocked"; }
  };
  try { window.attack.cookies = document.cookie; } catch (e) { window.attack.cookies = "unreadable"; }
  await tryIt("me", "PORTAL/api/v1/me");
  await tryIt("mint", "PORTAL/api/v1/tokens", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  await tryIt("mintNoCors", "PORTAL/api/v1/tokens", { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: "{}" });
  await tryIt("makeAdmin", "PORTAL/api/v1/users", { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" },
    body: JSON.stringify({ username: "pwned", password: "pwned-password-1", admin: true }) });
  await tryIt("gatewayProxy", "PORTAL" + location.pathname.split("/").slice(0, 3).join("/") + "/api/contents");
  window.attack.done = true;
})();
"""

# Run in the session's kernel: Jupyter Notebook loads ~/.jupyter/custom/custom.js on its pages,
# and serves ~/evil.html (at /files/evil.html, and framed at /view/evil.html) to whoever opens it.
PLANT = f"""
import os
attack = {ATTACK!r}
os.makedirs(os.path.expanduser("~/.jupyter/custom"), exist_ok=True)
open(os.path.expanduser("~/.jupyter/custom/custom.js"), "w").write(attack)
open(os.path.expanduser("~/evil.html"), "w").write("<!doctype html><title>evil</title><script>" + attack + "</script>")
print("planted")
"""


@pytest.fixture(scope="module")
def isolating_server():
    instance = Server(extra_args=["--session-domain", "localhost", "--upload-limit-mb", "4"])
    instance.start()
    try:
        # A user of its own for the files test (the portal test changes the admin's password),
        # with credits for its session (the portal test puts a price on the GPUs).
        instance.user = ("filer", "filer-" + secrets.token_hex(8))
        admin = Api(instance.base, mint_token(instance.base, "admin", ADMIN_PASSWORD))
        status, body = admin.post("/api/v1/users", {"username": instance.user[0], "password": instance.user[1]})
        assert status == 201, body
        status, body = admin.post(f"/api/v1/users/{instance.user[0]}/balance",
                                  {"amount": 100, "idempotency_key": "files"})
        assert status == 201, body
        yield instance
    finally:
        instance.stop()
        remove_containers(instance)


def test_hostile_session_content_in_chromium_acts_with_nobodys_login(server, make_user):
    """The default configuration (the shared `server`: reached by IP address, no session
    domain). The owner plants the scripts from inside her session, as any code there could."""
    name, owner = make_user("mallory")
    status, session = owner.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    session = wait_for_state(owner, session["id"], {"running"})
    planted = run_in_kernel(session, PLANT.replace("PORTAL", server.base), owner)
    assert planted.strip() == "planted", planted
    try:
        returncode, output = run_to_end(
            ["node", "hostile.mjs", server.base, ADMIN_PASSWORD, name, owner.password, session["id"]],
            BROWSER_TESTS, timeout=360)
    finally:
        owner.call("DELETE", f"/api/v1/sessions/{session['id']}")
    assert returncode == 0, f"exit {returncode}\n{output}"
    assert "hostile: all steps passed" in output
    status, users = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD)).get("/api/v1/users")
    assert not any(user["username"] == "pwned" for user in users["users"]), "no admin was made"


def test_portal_in_chromium(isolating_server):
    server = isolating_server
    os.makedirs(SCREENSHOTS, exist_ok=True)
    returncode, output = run_to_end(["node", "portal.mjs", server.base, ADMIN_PASSWORD, SCREENSHOTS],
                                    BROWSER_TESTS, timeout=360)
    assert returncode == 0, f"exit {returncode}\n{output}"
    assert "portal: all steps passed" in output


def test_a_sessions_files_go_up_and_down_from_the_portal_in_chromium(isolating_server):
    server = isolating_server
    name, password = server.user
    owner = Api(server.base, mint_token(server.base, name, password))
    status, session = owner.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    session = wait_for_state(owner, session["id"], {"running"})
    work = tempfile.mkdtemp(prefix="gpupool-files-")
    chosen = os.path.join(work, "chosen.txt")
    with open(chosen, "w") as handle:
        handle.write("chosen from the file dialog\n")
    try:
        returncode, output = run_to_end(["node", "files.mjs", server.base, session["id"], name, password, chosen],
                                        BROWSER_TESTS, timeout=360)
        assert returncode == 0, f"exit {returncode}\n{output}"
        assert "files: all steps passed" in output, output
        # In the home, as the session's own processes see it.
        listing = docker("exec", "gpupool-" + session["id"], "sh", "-c",
                         f"cd /home/{name} && stat -c '%n %s %U' dropped.bin chosen.txt && cat chosen.txt")
        assert listing.returncode == 0, listing.stderr
        assert listing.stdout.splitlines() == [f"dropped.bin 3145735 {name}", f"chosen.txt 28 {name}",
                                               "chosen from the file dialog"], listing.stdout
    finally:
        owner.call("DELETE", f"/api/v1/sessions/{session['id']}")
        shutil.rmtree(work, ignore_errors=True)
