"""Signing in through the organisation's OpenID Connect provider (docs/auth.md), against a
real one (oidc-provider from npm, tests/oidc/provider.mjs, over HTTPS with a test CA): the
portal's "Sign in with …" in Chromium; users made from the ID token's claims (name, groups,
uid); and each check of the callback: a state another browser started, a replayed state, an
ID token changed after signing, and one for another audience are refused."""
import base64
import hashlib
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.parse

import pytest
import requests

from test_cli import cli

from certificates import make_certificates
from conftest import ADMIN_PASSWORD, Api, Server, free_port, mint_token
from test_browser import run_to_end

OIDC_DIR = os.path.join(os.path.dirname(__file__), "..", "oidc")
BROWSER_DIR = os.path.join(os.path.dirname(__file__), "..", "browser")


class Provider:
    def __init__(self, gpupool_base):
        self.dir = tempfile.mkdtemp(prefix="gpupool-oidc-")
        self.paths = make_certificates(self.dir)
        self.port = free_port()
        self.issuer = f"https://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.dir, "provider.log"), "w")
        self.process = subprocess.Popen(
            ["node", "provider.mjs", str(self.port), self.paths["server.pem"], self.paths["server-key.pem"], gpupool_base],
            cwd=OIDC_DIR, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while True:
            try:
                requests.get(f"{self.issuer}/.well-known/openid-configuration", verify=self.paths["ca.pem"], timeout=2)
                return
            except requests.RequestException:
                assert self.process.poll() is None, open(self.log.name).read()
                assert time.time() < deadline, "the provider did not answer"
                time.sleep(0.2)

    def set_mode(self, mode):
        self.change("mode", {"mode": mode})

    def change(self, what, fields):
        reply = requests.post(f"{self.issuer}/test/{what}", json=fields, verify=self.paths["ca.pem"], timeout=10)
        assert reply.status_code == 200

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def site():
    config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    server = Server(extra_args=["--config", config.name])
    provider = Provider(server.base)
    config.write(f"""
[auth]
admin_group = "gpupool-admins"
check_interval = "10s"

[auth.oidc]
name = "Example SSO"
issuer = "{provider.issuer}"
client_id = "gpupool"
client_secret = "gpupool-client-secret"
scopes = ["openid", "profile", "groups"]
uid_claim = "uidNumber"
ca_file = "{provider.paths['ca.pem']}"
""")
    config.close()
    os.chmod(config.name, 0o600)
    server.start()
    server.provider = provider
    yield server
    server.stop()
    provider.stop()


def provider_sign_in(site, name, query=""):
    """Starts a sign-in at gpupool and passes the provider's login form as `name`, as a
    browser would; answers the browser (its cookies) and gpupool's callback URL, not yet
    visited."""
    browser = requests.Session()
    browser.trust_env = False  # REQUESTS_CA_BUNDLE would take the place of the test CA
    browser.verify = site.provider.paths["ca.pem"]
    reply = browser.get(f"{site.base}/api/v1/auth/oidc/start{query}", allow_redirects=False)
    assert reply.status_code == 302, reply.text
    location = reply.headers["Location"]
    assert location.startswith(site.provider.issuer + "/auth?") and "code_challenge_method=S256" in location
    for _ in range(10):
        reply = browser.get(location, allow_redirects=False)
        if reply.status_code == 200 and "<form" in reply.text:  # its login (or consent) page
            action = re.search(r'action="([^"]+)"', reply.text).group(1)
            fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', reply.text))
            if 'name="login"' in reply.text:
                fields.update(login=name, password="any")
            reply = browser.post(urllib.parse.urljoin(location, action), data=fields, allow_redirects=False)
        assert reply.status_code in (302, 303), reply.text[:500]
        location = urllib.parse.urljoin(location, reply.headers["Location"])
        if location.startswith(site.base) or location.startswith("http://127.0.0.1:"):
            return browser, location
    raise AssertionError("the provider did not send the browser back")


def callback(browser, url):
    reply = browser.get(url, allow_redirects=False)
    assert reply.status_code == 302, reply.text
    return reply.headers["Location"], reply.cookies.get("gpupool_session")


def test_a_user_signs_in_with_the_providers_account_groups_and_uid(site):
    browser, url = provider_sign_in(site, "alice")
    location, cookie = callback(browser, url)
    assert location == "/" and cookie, location
    me = browser.get(f"{site.base}/api/v1/me").json()
    assert me["username"] == "alice" and me["source"] == "oidc" and me["uid"] == 7001, me
    assert me["groups"] == ["ml-lab", "physics"] and not me["admin"], me
    browser, url = provider_sign_in(site, "bob")
    assert callback(browser, url)[0] == "/"
    assert browser.get(f"{site.base}/api/v1/me").json()["admin"]


def test_a_replayed_or_foreign_state_and_forged_tokens_are_refused(site):
    browser, url = provider_sign_in(site, "alice")
    # Another browser (without the state's cookie) brought here with this callback: refused.
    location, cookie = callback(requests.Session(), url)
    assert "not started by this browser" in urllib.parse.unquote(location) and not cookie
    state = browser.cookies.get("gpupool_oidc_state")
    assert callback(browser, url)[0] == "/"
    # The same callback again, even with the state's cookie: its state was used.
    browser.cookies.set("gpupool_oidc_state", state)
    location, cookie = callback(browser, url)
    assert "already used" in urllib.parse.unquote(location) and not cookie, location
    # An ID token whose claims were changed after signing (here: to be "admin").
    site.provider.set_mode("tamper")
    try:
        location, cookie = callback(*provider_sign_in(site, "alice"))
        assert "signature does not hold" in urllib.parse.unquote(location) and not cookie, location
        site.provider.set_mode("audience")
        location, cookie = callback(*provider_sign_in(site, "alice"))
        assert "another audience" in urllib.parse.unquote(location) and not cookie, location
    finally:
        site.provider.set_mode("normal")
    # The name "admin" belongs to the local admin: the provider's "admin" is not them.
    location, cookie = callback(*provider_sign_in(site, "admin"))
    assert "local" in urllib.parse.unquote(location) and not cookie, location
    admin = Api(site.base, mint_token(site.base, "admin", ADMIN_PASSWORD))
    entries = admin.get("/api/v1/audit?action=login")[1]["entries"]
    assert any(entry["action"] == "login failed" for entry in entries), entries


def wait_until(condition, what, timeout=45):
    deadline = time.time() + timeout  # check_interval is 10 s
    while not condition():
        assert time.time() < deadline, what
        time.sleep(1)


def test_the_providers_changes_reach_signed_in_users_at_the_next_check(site):
    """Between sign-ins, each check redeems the user's refresh token (rotated by the provider
    at every use): their groups follow the provider's, and once the provider disables them,
    their login and API token end."""
    browser, url = provider_sign_in(site, "dave")
    assert callback(browser, url)[0] == "/"
    verifier = "d" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    status, minted = Api(site.base).post("/api/v1/auth/cli-token",
                                         {"code": cli_code(site, "dave", challenge), "verifier": verifier})
    assert status == 201, minted
    token = Api(site.base, minted["token"])
    site.provider.change("account", {"account": "dave", "groups": ["ml-lab", "physics"]})
    wait_until(lambda: token.get("/api/v1/me")[1].get("groups") == ["ml-lab", "physics"],
               "the provider's groups did not reach gpupool")
    # A few more checks, each with the token the last one's renewal returned: still signed in.
    time.sleep(21)
    assert token.get("/api/v1/me")[0] == 200
    assert browser.get(f"{site.base}/api/v1/me").status_code == 200
    site.provider.change("account", {"account": "dave", "disabled": True})
    wait_until(lambda: token.get("/api/v1/me")[0] == 401, "the API token outlived the account")
    assert browser.get(f"{site.base}/api/v1/me").status_code == 401
    admin = Api(site.base, mint_token(site.base, "admin", ADMIN_PASSWORD))
    entries = admin.get("/api/v1/audit?action=user.directory_ended")[1]["entries"]
    assert any(entry["target"] == "dave" and "no longer stands by" in entry["detail"]
               for entry in entries), entries
    # Nor can they sign in again.
    with pytest.raises(AssertionError):
        provider_sign_in(site, "dave")


def test_the_portal_signs_in_through_the_provider(site):
    returncode, output = run_to_end(["node", "oidc.mjs", site.base, "Example SSO", "alice"],
                                    cwd=BROWSER_DIR, timeout=180)
    assert returncode == 0, output


def cli_confirmation(site, name, challenge, port=None, language="en-US"):
    """A CLI's sign-in as far as gpupool's question "sign in the command line as NAME?":
    the browser, and the page asking it."""
    query = f"?cli_port={port or free_port()}&cli_state=cli-state-1&cli_challenge={challenge}"
    browser, url = provider_sign_in(site, name, query)
    page = browser.get(url, allow_redirects=False, headers={"Accept-Language": language})
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"], page.text
    return browser, page


def answer(site, browser, page, reply):
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', page.text).group(1)
    sent = browser.post(f"{site.base}/api/v1/auth/cli-confirm",
                        data={"confirmation": confirmation, "answer": reply}, allow_redirects=False)
    if sent.status_code != 303:
        return sent.status_code, None
    back = urllib.parse.urlparse(sent.headers["Location"])
    assert back.hostname == "127.0.0.1", sent.headers["Location"]
    fields = urllib.parse.parse_qs(back.query)
    assert fields["state"] == ["cli-state-1"], fields
    return sent.status_code, fields


def cli_code(site, name, challenge):
    """A CLI's sign-in as far as the one-time code the browser brings back to the CLI."""
    browser, page = cli_confirmation(site, name, challenge)
    status, fields = answer(site, browser, page, "yes")
    assert status == 303 and "code" in fields, (status, fields)
    return fields["code"][0]


def test_the_cli_is_signed_in_only_once_the_person_at_the_browser_says_so(site):
    """A sign-in link someone else made (their port, their challenge) opened by a browser
    already signed in at the provider: gpupool names the account and asks; nothing goes to
    the loopback address before the answer, and Cancel sends the CLI an error, not a code."""
    port = free_port()
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen()
    listener.settimeout(0.5)
    try:
        browser, page = cli_confirmation(site, "alice", "c" * 43, port)
        assert "<strong>alice</strong>" in page.text and str(port) in page.text, page.text
        policy = page.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "script-src" not in policy, policy
        assert page.headers["X-Frame-Options"] == "DENY"
        with pytest.raises(socket.timeout):
            listener.accept()
        status, fields = answer(site, browser, page, "no")
        assert status == 303 and "code" not in fields, fields
        assert fields["error"] == ["the sign-in was cancelled in the browser"], fields
        # The question is answered once.
        assert answer(site, browser, page, "yes")[0] == 403
    finally:
        listener.close()
    # In the portal's other language for a browser that prefers it.
    chinese = cli_confirmation(site, "alice", "c" * 43, language="zh-CN,zh;q=0.9")[1]
    assert "让命令行登录" in chinese.text, chinese.text
def test_a_cli_code_needs_the_clis_verifier_and_works_once(site):
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    anonymous = Api(site.base)
    code = cli_code(site, "alice", challenge)
    status, body = anonymous.post("/api/v1/auth/cli-token", {"code": code, "verifier": "w" * 64})
    assert status == 401, body
    # A code tried with the wrong verifier is spent: whoever saw it cannot try again.
    assert anonymous.post("/api/v1/auth/cli-token", {"code": code, "verifier": verifier})[0] == 401
    code = cli_code(site, "alice", challenge)
    status, body = anonymous.post("/api/v1/auth/cli-token", {"code": code, "verifier": verifier})
    assert status == 201 and body["user"]["username"] == "alice", body
    assert Api(site.base, body["token"]).get("/api/v1/me")[1]["username"] == "alice"
    assert anonymous.post("/api/v1/auth/cli-token", {"code": code, "verifier": verifier})[0] == 401


def test_the_cli_signs_in_through_the_browser(site):
    home = tempfile.mkdtemp(prefix="gpupool-cli-oidc-")
    opener = os.path.join(home, "browser")
    with open(opener, "w") as handle:
        handle.write(f'#!/bin/sh\ncd {BROWSER_DIR} && exec node oidc_cli.mjs "$1" alice\n')
    os.chmod(opener, 0o755)
    signed_in = cli(home, "login", site.base, "--browser", extra_env={"BROWSER": opener})
    assert signed_in.returncode == 0 and f"logged in to {site.base} as alice" in signed_in.stdout, \
        signed_in.stdout + signed_in.stderr
    # The port it names is the one the browser's question names (oidc_cli.mjs checks that).
    port = re.search(r"cli_port=(\d+)", signed_in.stdout).group(1)
    assert f"confirm the command line listening on port {port}." in signed_in.stdout
    mine = cli(home, "ls")
    assert mine.returncode == 0, mine.stderr
