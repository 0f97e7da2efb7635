"""Signing in with the organisation's LDAP accounts (docs/auth.md), against a real OpenLDAP
directory (tests/ldap/directory.py): users created at first sign-in with the directory's uid,
groups and admin flag; wrong passwords, locked and unusable accounts refused; a user the
directory locks loses every credential at the next check; local accounts turned off; the
config file's refusals; and the portal's sign-in in Chromium."""
import os
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import ADMIN_PASSWORD, Api, Server, mint_token, remove_containers, run_in_kernel, wait_for_state
from test_browser import run_to_end

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ldap"))
import directory as ldap  # noqa: E402

BROWSER_DIR = os.path.join(os.path.dirname(__file__), "..", "browser")


@pytest.fixture(scope="module")
def directory():
    instance = ldap.Directory()
    instance.start()
    yield instance
    instance.stop()


def config_file(text, mode=0o600):
    handle = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    handle.write(text)
    handle.close()
    os.chmod(handle.name, mode)
    return handle.name


def search_then_bind(directory, extra=""):
    """OpenLDAP's classic layout: StartTLS, a service account, posixGroups with memberUid."""
    return f"""
[auth]
admin_group = "gpupool-admins"
check_interval = "10s"
{extra}
[auth.ldap]
url = "{directory.url}"
start_tls = true
ca_file = "{directory.ca}"
bind_dn = "{ldap.READER_DN}"
bind_password = "{ldap.READER_PASSWORD}"
user_base = "ou=people,{ldap.SUFFIX}"
user_filter = "(&(objectClass=posixAccount)(uid={{username}})(!(pwdAccountLockedTime=*)))"
group_base = "ou=groups,{ldap.SUFFIX}"
"""


def start_server(config, extra_args=()):
    instance = Server(extra_args=["--config", config, *extra_args])
    instance.start()
    return instance


@pytest.fixture(scope="module")
def lab(directory):
    instance = start_server(config_file(search_then_bind(directory)))
    yield instance
    instance.stop()
    remove_containers(instance)


def sign_in(server, name, password):
    return Api(server.base).post("/api/v1/auth/login", {"username": name, "password": password})


def test_a_directory_user_signs_in_with_the_directorys_uid_groups_and_admin_flag(lab, directory):
    status, body = sign_in(lab, "alice", "alice-password")
    assert status == 200, body
    assert body["user"]["source"] == "ldap" and body["user"]["uid"] == 5001 and not body["user"]["admin"], body
    alice = Api(lab.base, mint_token(lab.base, "alice", "alice-password"))
    me = alice.get("/api/v1/me")[1]
    assert me["groups"] == ["ml-lab", "physics"], me
    status, body = sign_in(lab, "BOB", "bob-password")  # the name as typed: any case
    assert status == 200 and body["user"]["username"] == "bob" and body["user"]["admin"], body
    assert body["user"]["uid"] == 5002
    # The groups are the directory's: their members are changed there, not in gpupool.
    admin = Api(lab.base, mint_token(lab.base, "admin", ADMIN_PASSWORD))
    groups = {group["name"]: group for group in admin.get("/api/v1/groups")[1]["groups"]}
    assert groups["ml-lab"]["from_directory"] and sorted(groups["ml-lab"]["members"]) == ["alice", "bob"], groups
    status, body = admin.call("PUT", "/api/v1/groups/ml-lab/members", {"users": ["alice"]})
    assert status == 409 and "directory" in body["error"]["message"], body
    # Quotas set on a directory group hold for its members.
    status, body = admin.call("PUT", "/api/v1/quotas/group/physics", {"max_gpus": 1})
    assert status == 200, body
    assert any(quota["name"] == "physics" for quota in alice.get("/api/v1/me")[1]["quotas"])
    # The password is the directory's to change.
    status, body = alice.post("/api/v1/me/password",
                              {"current_password": "alice-password", "new_password": "another-password-1"})
    assert status == 409 and "directory" in body["error"]["message"], body


def test_wrong_passwords_locked_and_unusable_accounts_are_refused(lab):
    assert sign_in(lab, "alice", "wrong-password")[0] == 401
    assert sign_in(lab, "alice", "")[0] in (400, 401)  # never an unauthenticated bind
    assert sign_in(lab, "nobody", "nobody-password")[0] == 401
    assert sign_in(lab, "alice)(uid=*", "alice-password")[0] == 401  # no filter injection
    assert sign_in(lab, "*", "alice-password")[0] == 401
    # Locked with ppolicy: the user filter no longer finds her, though her password is right.
    assert sign_in(lab, "carol", "carol-password")[0] == 401
    # uid 0 would make her root in every container.
    status, body = sign_in(lab, "dave", "dave-password")
    assert status == 403 and "uid 0" in body["error"]["message"], body
    # The local admin still signs in (local accounts stay unless turned off).
    assert sign_in(lab, "admin", ADMIN_PASSWORD)[0] == 200


def test_the_session_container_runs_as_the_directorys_uid(lab):
    alice = Api(lab.base, mint_token(lab.base, "alice", "alice-password"))
    status, session = alice.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    session = wait_for_state(alice, session["id"], {"running"})
    code = "import os; print(os.getuid(), os.getgid(), os.stat(os.path.expanduser('~')).st_uid)"
    assert run_in_kernel(session, code, alice).split() == ["5001", "5000", "5001"]
    assert alice.call("DELETE", f"/api/v1/sessions/{session['id']}")[0] == 200
    wait_for_state(alice, session["id"], {"ended"}, timeout=60)


def test_a_user_the_directory_locks_loses_every_credential_at_the_next_check(lab, directory):
    status, body = sign_in(lab, "bob", "bob-password")
    assert status == 200, body
    bob = Api(lab.base, mint_token(lab.base, "bob", "bob-password"))
    assert bob.get("/api/v1/me")[0] == 200
    directory.lock("bob")
    deadline = time.time() + 40  # check_interval is 10 s
    while bob.get("/api/v1/me")[0] == 200:
        assert time.time() < deadline, "bob's token still works after the directory locked him"
        time.sleep(1)
    assert bob.get("/api/v1/me")[0] == 401
    assert sign_in(lab, "bob", "bob-password")[0] == 401
    admin = Api(lab.base, mint_token(lab.base, "admin", ADMIN_PASSWORD))
    entries = admin.get("/api/v1/audit?action=user.directory_ended")[1]["entries"]
    assert any(entry["target"] == "bob" for entry in entries), entries


def test_local_accounts_off_ldaps_direct_bind_and_member_of(directory):
    config = config_file(f"""
[auth]
local_accounts = false
admin_group = "gpupool-admins"

[auth.ldap]
url = "{directory.ldaps_url}"
ca_file = "{directory.ca}"
user_dn_template = "uid={{username}},ou=people,{ldap.SUFFIX}"
groups_attribute = "memberOf"
group_base = "ou=teams,{ldap.SUFFIX}"
""")
    instance = start_server(config)
    try:
        assert sign_in(instance, "admin", ADMIN_PASSWORD)[0] == 401
        status, body = sign_in(instance, "alice", "alice-password")
        assert status == 200 and body["user"]["uid"] == 5001, body
        alice = Api(instance.base, mint_token(instance.base, "alice", "alice-password"))
        assert alice.get("/api/v1/me")[1]["groups"] == ["vision"]
        assert sign_in(instance, "alice", "wrong-password")[0] == 401
    finally:
        instance.stop()


def test_a_directory_whose_certificate_is_not_trusted_is_not_used(directory):
    config = config_file(search_then_bind(directory).replace(directory.ca, directory.other_ca))
    instance = start_server(config)
    try:
        status, body = sign_in(instance, "alice", "alice-password")
        assert status == 503 and "directory" in body["error"]["message"], body
        assert "certificate" in instance.log() or "TLS" in instance.log()
    finally:
        instance.stop()


@pytest.mark.parametrize("text,mode,complaint", [
    ('[auth.ldap]\nurl = "ldap://127.0.0.1:1"\nuser_base = "dc=x"\n', 0o600, "start_tls"),
    ('lisen = "127.0.0.1:1"\n', 0o600, "unknown setting (gpupool up has no --lisen)"),
    ('[auth]\nlocal_acounts = false\n', 0o600, 'unknown key "local_acounts"'),
    ('[auth.ldap]\nurl = "ldaps://h"\nuser_base = "dc=x"\nbind_dn = "cn=r"\nbind_password = "p"\n', 0o644,
     "chmod 600"),
    ('[auth]\nlocal_accounts = false\n', 0o600, "needs a directory"),
])
def test_the_config_file_refuses_what_it_cannot_use(text, mode, complaint):
    config = config_file(text, mode)
    run = subprocess.run([os.environ.get("GPUPOOL_BINARY", "build/gpupool"), "up", "--config", config,
                          "--data-dir", tempfile.mkdtemp(prefix="gpupool-config-"), "--simulate-gpus", "1xA100-80GB"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and complaint in run.stdout + run.stderr, run.stdout + run.stderr


def test_the_portal_signs_in_with_the_directorys_password(lab):
    returncode, output = run_to_end(["node", "directory.mjs", lab.base, "alice", "alice-password"],
                                    cwd=BROWSER_DIR, timeout=180)
    assert returncode == 0, output
