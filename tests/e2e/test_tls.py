"""The gateway under TLS: HTTPS and WSS end to end, Secure cookies, HSTS, and the CLI
verifying the certificate."""
import http.client
import json
import os
import ssl
import subprocess
import tempfile

import pytest

from conftest import ADMIN_PASSWORD, Api, Server, mint_token, remove_containers, run_in_kernel, wait_for_state
from test_cli import cli


@pytest.fixture(scope="module")
def tls_server():
    directory = tempfile.mkdtemp(prefix="gpupool-tls-")
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    context = ssl.create_default_context(cafile=cert)
    instance = Server(extra_args=["--tls-cert", cert, "--tls-key", key], tls_context=context)
    instance.cert = cert
    instance.start()
    yield instance
    instance.stop()
    remove_containers(instance)


def https(server, method, path, body=None, headers=None):
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=60, context=server.tls_context)
    connection.request(method, path, body, headers or {})
    response = connection.getresponse()
    return response.status, response.read(), response


def test_https_secure_cookies_and_hsts(tls_server):
    status, _, response = https(tls_server, "GET", "/healthz")
    assert status == 200
    assert response.getheader("Strict-Transport-Security") == "max-age=31536000"
    status, _, response = https(tls_server, "POST", "/api/v1/auth/login",
                                json.dumps({"username": "admin", "password": ADMIN_PASSWORD}),
                                {"Content-Type": "application/json"})
    assert status == 200
    cookie = response.getheader("Set-Cookie")
    assert "; Secure" in cookie and "HttpOnly" in cookie
    with pytest.raises(ssl.SSLError):
        https_untrusted = http.client.HTTPSConnection("127.0.0.1", tls_server.port, timeout=10,
                                                      context=ssl.create_default_context())
        https_untrusted.request("GET", "/healthz")


def test_cli_verifies_the_gateway_certificate(tls_server):
    home = tempfile.mkdtemp(prefix="gpupool-cli-tls-")
    untrusted = cli(home, "login", tls_server.base, "-u", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    assert untrusted.returncode == 1 and "TLS" in untrusted.stderr
    trusted = cli(home, "login", tls_server.base, "-u", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n",
                  extra_env={"GPUPOOL_CA_FILE": tls_server.cert})
    assert trusted.returncode == 0, trusted.stderr
    assert cli(home, "pool", extra_env={"GPUPOOL_CA_FILE": tls_server.cert}).returncode == 0


def test_jupyter_through_the_gateway_over_https_and_wss(tls_server):
    token = mint_token(tls_server.base, "admin", ADMIN_PASSWORD, tls_context=tls_server.tls_context)
    api = Api(tls_server.base, token, tls_context=tls_server.tls_context)
    status, session = api.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    session = wait_for_state(api, session["id"], {"running"})
    assert session["jupyter"]["url"].startswith(f"https://127.0.0.1:{tls_server.port}/s/")
    # A kernel started and a cell run over HTTPS and WSS through the gateway.
    assert run_in_kernel(session, "print(6 * 7)", api) == "42\n"
    api.call("DELETE", f"/api/v1/sessions/{session['id']}")
    wait_for_state(api, session["id"], {"ended"}, timeout=60)
