"""A real OpenLDAP directory for the tests: Debian's slapd with its own configuration, data and
TLS certificates (a test CA), on free ports of 127.0.0.1 — StartTLS on ldap://, and ldaps://.

Users (passwords are NAME-password): alice (uid 5001; groups ml-lab, physics), bob (uid 5002;
ml-lab, gpupool-admins), carol (locked by ppolicy's pwdAccountLockedTime: the filter excludes
her), dave (uidNumber 0). Groups twice: as posixGroups with memberUid under ou=groups, and as
groupOfNames under ou=teams, whose memberOf the memberof overlay keeps in the users' entries
(Active Directory's way). Anonymous users may not search; the service account
cn=reader,dc=example,dc=org (password reader-password) may read everything but passwords."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

from certificates import make_certificates  # tests/e2e

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-password"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-password"

USERS = {"alice": 5001, "bob": 5002, "carol": 5003, "dave": 0}
POSIX_GROUPS = {"ml-lab": ["alice", "bob"], "physics": ["alice"], "gpupool-admins": ["bob"]}
TEAMS = {"vision": ["alice"], "gpupool-admins": ["bob"]}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def user_dn(name):
    return f"uid={name},ou=people,{SUFFIX}"


def run(*command, stdin=None):
    return subprocess.run(command, input=stdin, capture_output=True, text=True, check=True)


class Directory:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="gpupool-ldap-")
        self.port = free_port()
        self.ldaps_port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.ldaps_url = f"ldaps://127.0.0.1:{self.ldaps_port}"
        self.process = None

    def _certificates(self):
        paths = make_certificates(self.dir)
        self.ca, self.other_ca = paths["ca.pem"], paths["other-ca.pem"]

    def _config(self):
        d = self.dir
        os.makedirs(f"{d}/data")
        schemas = "\n".join(f"include /etc/ldap/schema/{name}.schema"
                            for name in ("core", "cosine", "nis", "inetorgperson"))
        with open(f"{d}/slapd.conf", "w") as handle:
            handle.write(f"""{schemas}
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload ppolicy
pidfile {d}/slapd.pid
TLSCACertificateFile {self.ca}
TLSCertificateFile {d}/server.pem
TLSCertificateKeyFile {d}/server-key.pem
database mdb
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {d}/data
overlay memberof
overlay ppolicy
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="{READER_DN}" read
  by users read
  by * none
""")

    def start(self):
        self._certificates()
        self._config()
        base = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: {READER_DN}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: reader
userPassword: {READER_PASSWORD}
"""
        for unit in ("people", "groups", "teams"):
            base += f"\ndn: ou={unit},{SUFFIX}\nobjectClass: organizationalUnit\nou: {unit}\n"
        run("slapadd", "-f", f"{self.dir}/slapd.conf", stdin=base)
        self.process = subprocess.Popen(
            ["/usr/sbin/slapd", "-d", "0", "-f", f"{self.dir}/slapd.conf",
             "-h", f"{self.url}/ {self.ldaps_url}/"],
            stdout=subprocess.DEVNULL, stderr=open(f"{self.dir}/slapd.log", "w"))
        deadline = time.time() + 30
        while subprocess.run(["ldapwhoami", "-x", "-H", self.url], capture_output=True).returncode != 0:
            assert self.process.poll() is None, open(f"{self.dir}/slapd.log").read()
            assert time.time() < deadline, "slapd did not answer"
            time.sleep(0.2)
        # The people and groups go in through slapd, so that memberof fills memberOf.
        entries = []
        for name, uid in USERS.items():
            entries.append(f"""dn: {user_dn(name)}
objectClass: inetOrgPerson
objectClass: posixAccount
uid: {name}
cn: {name.title()}
sn: {name.title()}
uidNumber: {uid}
gidNumber: 5000
homeDirectory: /home/{name}
userPassword: {name}-password
""")
        for group, members in POSIX_GROUPS.items():
            entries.append(f"dn: cn={group},ou=groups,{SUFFIX}\nobjectClass: posixGroup\ncn: {group}\n"
                           f"gidNumber: {6000 + len(entries)}\n" + "".join(f"memberUid: {m}\n" for m in members))
        for team, members in TEAMS.items():
            entries.append(f"dn: cn={team},ou=teams,{SUFFIX}\nobjectClass: groupOfNames\ncn: {team}\n" +
                           "".join(f"member: {user_dn(m)}\n" for m in members))
        self.modify("\n".join(entries), add=True)
        self.lock("carol")

    def modify(self, ldif, add=False):
        run("ldapmodify", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD, *(["-a"] if add else []),
            stdin=ldif)

    def lock(self, name):
        """Locks the account the way ppolicy does (an administrative lock)."""
        self.modify(f"dn: {user_dn(name)}\nchangetype: modify\nadd: pwdAccountLockedTime\n"
                    "pwdAccountLockedTime: 000001010000Z\n")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
