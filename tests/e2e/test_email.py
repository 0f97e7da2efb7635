"""Notifications by e-mail against a real SMTP server (Debian's aiosmtpd) that requires
STARTTLS and a login: a user's address is confirmed with the code mailed to it, then their
notices are mailed — a session an admin stopped, a balance that fell below their threshold."""
import email
import email.policy
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from conftest import (ADMIN_PASSWORD, BINARY, Api, Server, free_port, mint_token, remove_containers,
                      wait_for_state)
from test_browser import BROWSER_TESTS, SCREENSHOTS, run_to_end

SMTP_USER, SMTP_PASSWORD = "gpupool-relay", "relay-" + secrets.token_hex(8)


class Mailbox:
    """Takes every message; remembers whether it came over TLS and from the login."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos, "tls": session.ssl is not None,
                              "login": session.authenticated,
                              "message": email.message_from_bytes(envelope.content, policy=email.policy.default)})
        return "250 OK"

    def to(self, address, subject_has="", timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for item in self.messages:
                if address in item["to"] and subject_has in str(item["message"]["Subject"]):
                    return item
            time.sleep(0.3)
        raise AssertionError(f"no mail to {address} about {subject_has!r}: {self.messages}")


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def pool():
    work = tempfile.mkdtemp(prefix="gpupool-e2e-email-")
    cert, key = os.path.join(work, "smtp.pem"), os.path.join(work, "smtp.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                      authenticator=authenticate, auth_required=True)
    smtp.start()
    password_file = os.path.join(work, "smtp-password")
    with open(password_file, "w") as handle:
        handle.write(SMTP_PASSWORD + "\n")
    server = Server(extra_args=["--smtp-url", f"smtp://127.0.0.1:{port}", "--smtp-from", "gpupool@pool.example.org",
                                "--smtp-user", SMTP_USER, "--smtp-password-file", password_file,
                                "--smtp-ca-file", cert, "--idle-window", "0"])
    server.start()
    admin = Api(server.base, mint_token(server.base, "admin", ADMIN_PASSWORD))

    def user(prefix):
        name, password = prefix + secrets.token_hex(3), "pw-" + secrets.token_hex(8)
        assert admin.post("/api/v1/users", {"username": name, "password": password})[0] == 201
        api = Api(server.base, mint_token(server.base, name, password))
        api.password = password
        return name, api

    yield server, admin, user, mailbox
    server.stop()
    smtp.stop()
    remove_containers(server)
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(server.data_dir, ignore_errors=True)


def code_in(item):
    return re.search(r"^\s+(\d{8})\s*$", item["message"].get_content(), re.MULTILINE).group(1)


def test_an_address_is_used_once_confirmed_and_notices_are_mailed(pool):
    server, admin, user, mailbox = pool
    name, api = user("mailed")
    address = f"{name}@lab.example.org"
    for bad in (f"{name}@lab.example.org\r\nBcc: victim@example.org", "no-at-sign", "a@localhost", "é@example.org"):
        status, refused = api.call("PUT", "/api/v1/me/notify", {"email": bad})
        assert status == 400 and refused["error"]["code"] == "invalid_argument", (bad, refused)
    assert api.call("POST", "/api/v1/me/notify/confirm", {"code": "12345678"})[0] == 409, "nothing to confirm"

    status, settings = api.call("PUT", "/api/v1/me/notify", {"email": address})
    assert status == 200 and settings["email_state"] in ("code_pending", "code_mailed"), settings
    mailed = mailbox.to(address, "confirmation code")
    assert mailed["tls"] and mailed["login"] == True and mailed["from"] == "gpupool@pool.example.org", mailed
    code = code_in(mailed)
    assert api.get("/api/v1/me/notify")[1]["email_state"] == "code_mailed"
    status, wrong = api.call("POST", "/api/v1/me/notify/confirm", {"code": "00000000" if code != "00000000" else "1"})
    assert status == 400 and "4 more tries" in wrong["error"]["message"], wrong

    # Unconfirmed, nothing is mailed: a session that ends now is told only in the portal.
    status, session = api.post("/api/v1/sessions", {"cpus": 0.5, "memory_gb": 1})
    assert status == 201, session
    wait_for_state(api, session["id"], {"running"})
    assert admin.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] in (200, 202)
    wait_for_state(api, session["id"], {"ended"})

    # Confirmed from the command line, as a user in a terminal would.
    cli = subprocess.run([BINARY, "notify", "confirm", code], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "GPUPOOL_URL": server.base, "GPUPOOL_TOKEN": api.token,
                              "HOME": tempfile.gettempdir()})
    assert cli.returncode == 0 and f"{address} (confirmed)" in cli.stdout, (cli.stdout, cli.stderr)
    assert api.get("/api/v1/me/notify")[1]["email_state"] == "confirmed"
    assert api.call("POST", "/api/v1/me/notify/confirm", {"code": code})[0] == 409, "used once"

    status, session = api.post("/api/v1/sessions", {"cpus": 0.5, "memory_gb": 1})
    assert status == 201, session
    wait_for_state(api, session["id"], {"running"})
    assert admin.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] in (200, 202)
    item = mailbox.to(address, session["id"])
    message = item["message"]
    assert message["To"].addresses[0].addr_spec == address and message["Auto-Submitted"] == "auto-generated", message
    assert "ended" in message["Subject"] and session["id"] in message.get_content()
    assert server.base.rstrip("/") in message.get_content(), "links the portal"
    ended_mails = [m for m in mailbox.messages if address in m["to"] and "ended" in str(m["message"]["Subject"])]
    assert len(ended_mails) == 1, "the session that ended before the confirmation was not mailed"

    # An admin sets another user's address: used at once, no code.
    other, other_api = user("vouched")
    status, set_by_admin = admin.call("PUT", f"/api/v1/users/{other}/notify", {"email": f"{other}@lab.example.org"})
    assert status == 200 and set_by_admin["email_state"] == "confirmed", set_by_admin
    assert other_api.get("/api/v1/me/notify")[1]["email"] == f"{other}@lab.example.org"
    assert other_api.call("PUT", f"/api/v1/users/{name}/notify", {"email": "x@example.org"})[0] == 403


def test_a_balance_below_the_owners_threshold_is_told_once_by_mail_and_in_the_portal(pool):
    server, admin, user, mailbox = pool
    name, api = user("spender")
    address = f"{name}@lab.example.org"
    assert admin.call("PUT", f"/api/v1/users/{name}/notify", {"email": address})[0] == 200
    status, settings = api.call("PUT", "/api/v1/me/notify", {"balance_low_credits": 9.5})
    assert status == 200 and settings["balance_low_credits"] == 9.5, settings
    assert api.call("PUT", "/api/v1/me/notify", {"balance_low_credits": -1})[0] == 400
    assert admin.post(f"/api/v1/users/{name}/balance", {"amount": 10, "idempotency_key": "k1"})[0] == 201
    assert admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 360})[0] == 200  # 0.1 a second
    try:
        status, session = api.post("/api/v1/sessions", {"gpus": 1, "cpus": 0.5, "memory_gb": 1})
        assert status == 201, session
        wait_for_state(api, session["id"], {"running"})
        item = mailbox.to(address, "balance", timeout=60)
        assert "below your threshold of 9.50" in item["message"].get_content()
        notices = [n for n in api.get("/api/v1/notifications")[1]["notifications"] if n["kind"] == "balance_low"]
        assert len(notices) == 1 and notices[0]["data"]["credits_per_hour"] == 360, notices
        assert api.get("/api/v1/me/notify")[1]["balance_low_told"] is True
        time.sleep(4)  # more syncs, still below: not told again
        notices = [n for n in api.get("/api/v1/notifications")[1]["notifications"] if n["kind"] == "balance_low"]
        assert len(notices) == 1, notices
        api.call("DELETE", f"/api/v1/sessions/{session['id']}")
    finally:
        admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 0})


def test_in_the_portal_a_user_confirms_their_address_and_reads_statements_and_admins_reports(pool):
    server, admin, user, mailbox = pool
    name, api = user("portal")
    group = "team" + secrets.token_hex(2)
    assert admin.post("/api/v1/groups", {"name": group})[0] == 201
    assert admin.call("PUT", f"/api/v1/groups/{group}/members", {"users": [name]})[0] == 200
    assert admin.post(f"/api/v1/users/{name}/balance", {"amount": 20, "idempotency_key": "p1"})[0] == 201
    assert admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 36})[0] == 200
    try:
        status, session = api.post("/api/v1/sessions", {"gpus": 1, "cpus": 0.5, "memory_gb": 1})
        assert status == 201, session
        wait_for_state(api, session["id"], {"running"})
        time.sleep(3)  # a few seconds billed: a charge
        api.call("DELETE", f"/api/v1/sessions/{session['id']}")
        wait_for_state(api, session["id"], {"ended"})
    finally:
        admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 0})
    address = f"{name}@lab.example.org"
    assert api.call("PUT", "/api/v1/me/notify", {"email": address})[0] == 200
    code = code_in(mailbox.to(address, "confirmation code"))
    returncode, output = run_to_end(["node", "reports.mjs", server.base, name, api.password, code, session["id"],
                                     ADMIN_PASSWORD, group, SCREENSHOTS], BROWSER_TESTS, timeout=300)
    assert returncode == 0 and "reports: ok" in output, output
    settings = api.get("/api/v1/me/notify")[1]
    assert settings["email_state"] == "confirmed" and settings["balance_low_credits"] == 7.5, settings
