"""VS Code in the browser: an image with code-server added by images/code-server/build.sh
(from Debian's packages and the npm registry) is checked, its sessions offer VS Code through
the gateway on the session's own origin, to the owner only, and code-server itself refuses
anyone who comes without the cookie only the gateway sends."""
import http.client
import os
import subprocess
import time

import pytest

from conftest import run_in_kernel, wait_for_state
from nodes import SLIM_IMAGE, ensure_slim_image
from test_browser import BROWSER_TESTS, run_to_end
from test_images import Lab

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "..", "images", "code-server", "build.sh")
VSCODE_IMAGE = "gpupool/session:e2e-vscode"
TAG = "jupyter6.4-cpu-debian12-base"


def ensure_vscode_image():
    """The slim session image with code-server; built once per machine (a few minutes)."""
    ensure_slim_image()
    if subprocess.run(["docker", "image", "inspect", VSCODE_IMAGE], capture_output=True).returncode == 0:
        return
    built = subprocess.run([BUILD, SLIM_IMAGE, VSCODE_IMAGE], capture_output=True, text=True, timeout=1200)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]


@pytest.fixture(scope="module")
def lab():
    ensure_vscode_image()
    instance = Lab()
    try:
        # Jupyter and code-server start side by side: more time for the first answer.
        instance.start(ready_timeout=120)
        instance.add(VSCODE_IMAGE, "lab/vscode", TAG)
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def running(lab):
    owner = lab.user()
    image = lab.checked(TAG)
    assert image["check"]["state"] == "passed", image
    assert image["check"]["code_server"] == "4.89.1", image
    assert "code-server 4.89.1" in image["check"]["message"], image
    status, body = lab.set_state(TAG, "stable")
    assert status == 200, body
    status, session = owner.post("/api/v1/sessions", {"image": TAG, "gpus": 1})
    assert status == 201, session
    session = wait_for_state(owner, session["id"], {"running"}, timeout=240)
    yield owner, session
    owner.call("DELETE", f"/api/v1/sessions/{session['id']}")


def get(lab, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", lab.server.port, timeout=60)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read().decode(errors="replace"), response


def test_vscode_opens_for_its_owner_only(lab, running):
    owner, session = running
    sid = session["id"]
    assert session["vscode"] == {"url": f"{lab.server.base}/s/{sid}/vscode/"}, session
    opened = lab.cli("open", sid, "--vscode", api=owner)
    assert opened.returncode == 0 and opened.stdout == session["vscode"]["url"] + "\n", opened
    as_owner = {"Authorization": "Bearer " + owner.token}

    status, _, response = get(lab, f"/s/{sid}/vscode", as_owner)
    assert status == 302 and response.getheader("Location") == f"/s/{sid}/vscode/"
    # code-server opens the home (relative redirects: no base path needed), then its workbench.
    # It starts beside Jupyter, which alone says when the session runs: until it listens, the
    # gateway's page says so.
    deadline = time.time() + 60
    while (answer := get(lab, f"/s/{sid}/vscode/", as_owner))[0] == 502:
        assert "VS Code (code-server) of this session is not reachable" in answer[1], answer[1]
        assert time.time() < deadline, answer
        time.sleep(0.5)
    status, _, response = answer
    assert status == 302, status
    location = response.getheader("Location")
    assert location.startswith("./?folder=") and f"/home/{owner.name}" in location, location
    status, body, _ = get(lab, f"/s/{sid}/vscode/" + location[2:], as_owner)
    assert status == 200 and "workbench" in body, body[:500]

    # Another user or an anonymous caller, even one an app of the session is shared with: the
    # 404 of a session that is not there.
    stranger = lab.user()
    status, body = owner.post(f"/api/v1/sessions/{sid}/apps", {"port": 6006, "users": [stranger.name]})
    assert status in (200, 201), body
    for headers in ({"Authorization": "Bearer " + stranger.token}, {}):
        status, body, _ = get(lab, f"/s/{sid}/vscode/", headers)
        assert status == 404, body[:300]


def test_code_server_refuses_requests_without_the_gateways_cookie(lab, running):
    """From inside the session (where anything the user runs is), straight to code-server:
    sent to its login page, with no cookie or a wrong one."""
    owner, session = running
    code = """
import urllib.request, urllib.error
class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args): return None
opener = urllib.request.build_opener(Stay)
for cookie in (None, "code-server-session=guess"):
    request = urllib.request.Request("http://127.0.0.1:13337/?folder=/tmp")
    if cookie: request.add_header("Cookie", cookie)
    try:
        print(opener.open(request).status)
    except urllib.error.HTTPError as error:
        print(error.code, error.headers["Location"])
"""
    assert run_in_kernel(session, code, owner).split("\n")[:2] == ["302 ./login?folder=/tmp&to=", "302 ./login?folder=/tmp&to="]
    # Its settings are root's: the user reads them (the token is the session's own) but can
    # neither change them nor put others in their place.
    code = """
import os, stat
settings = "/etc/gpupool/code-server.yaml"
info = os.stat(settings)
print(info.st_uid, info.st_gid == os.getgid(), oct(stat.S_IMODE(info.st_mode)))
for attempt in (lambda: open(settings, "a"), lambda: os.rename(settings, settings + ".x"),
                lambda: open("/etc/gpupool/other.yaml", "w")):
    try:
        attempt()
        print("changed")
    except PermissionError:
        print("refused")
"""
    assert run_in_kernel(session, code, owner).split() == ["0", "True", "0o640", "refused", "refused", "refused"]


def test_vscode_in_chromium_from_the_portal(lab, running):
    owner, session = running
    planted = run_in_kernel(
        session, f"open('from-the-session.txt', 'w').write('written in {session['id']}\\n'); print('planted')", owner)
    assert planted == "planted\n"
    returncode, output = run_to_end(["node", "vscode.mjs", lab.server.base, session["id"], owner.name, owner.password],
                                    BROWSER_TESTS, timeout=360)
    assert returncode == 0, f"exit {returncode}\n{output}"
    assert "vscode: all steps passed" in output, output
