"""A test CA and a server certificate it signed for 127.0.0.1, and another CA that signed
nothing (a client trusting only it must refuse the server)."""
import os
import subprocess


def openssl(*arguments):
    subprocess.run(["openssl", *arguments], capture_output=True, check=True)


def make_certificates(directory):
    """Writes ca.pem, server.pem, server-key.pem and other-ca.pem into `directory`; answers
    their paths by those names."""
    paths = {name: os.path.join(directory, name) for name in ("ca.pem", "server.pem", "server-key.pem", "other-ca.pem")}
    key_type = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *key_type, "-days", "2", "-subj", "/CN=gpupool test CA",
            "-keyout", os.path.join(directory, "ca-key.pem"), "-out", paths["ca.pem"])
    openssl("req", *key_type, "-subj", "/CN=127.0.0.1", "-keyout", paths["server-key.pem"],
            "-out", os.path.join(directory, "server.csr"))
    extensions = os.path.join(directory, "san.cnf")
    with open(extensions, "w") as handle:
        handle.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", os.path.join(directory, "server.csr"), "-CA", paths["ca.pem"],
            "-CAkey", os.path.join(directory, "ca-key.pem"), "-CAcreateserial", "-days", "2",
            "-extfile", extensions, "-out", paths["server.pem"])
    openssl("req", "-x509", *key_type, "-days", "2", "-subj", "/CN=someone else's CA",
            "-keyout", os.path.join(directory, "other-key.pem"), "-out", paths["other-ca.pem"])
    return paths
