"""Bad input gets a clear 4xx and the server stays up for everyone."""
import resource
import socket

import pytest

from conftest import Server


@pytest.fixture(scope="module")
def user(make_user):
    return make_user("carol")[1]


@pytest.mark.parametrize("raw, status", [
    (b"{", 400),
    (b"[1]", 400),
    (b"{\"gpus\": \"one\"}", 400),
    (b"{\"gpus\": 0, \"gpu_model\": \"A100-80GB\"}", 400),
    (b"{\"gpus\": 1000000000}", 400),
    (b"{\"gpus\": -3}", 400),
    (b"{\"cpus\": \"many\"}", 400),
    (b"{\"memory_gb\": 1e999}", 400),
    (b"{\"image\": \"ubuntu:latest\"}", 404),
    (b"{\"image\": \"docker.io/library/pytorch1.13-cpu-debian12-runtime\"}", 404),
    (b"{\"gpus\": 1, \"image\": \"\xff\xfe\"}", 400),
    (b"{\"a\":" + b"[" * 5000 + b"]" * 5000 + b"}", 400),
])
def test_bad_session_requests_get_4xx(server, user, raw, status):
    code, body = user.post("/api/v1/sessions", raw=raw)
    assert code == status, body
    assert isinstance(body["error"]["message"], str) and body["error"]["code"]


@pytest.mark.parametrize("keys", [
    ["not a key"],
    ["ssh-ed25519 AAAA"],
    ["command=\"/bin/sh\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCfYdbpEfNo85EvyD2Uq3+hSzhdPwnGB1mw03IQsEYs"],
    ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCfYdbpEfNo85EvyD2Uq3+hSzhdPwnGB1mw03IQsEYs x\nssh-rsa AAAA y"],
    "ssh-ed25519 AAAA",
    [1],
])
def test_invalid_ssh_keys_are_refused(user, keys):
    code, body = user.call("PUT", "/api/v1/me/ssh-keys", {"keys": keys})
    assert code == 400, body


def test_oversized_body_is_refused_and_server_stays_up(server, user):
    # The gateway answers 413 as soon as it reads the Content-Length, before any body.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           user.token.encode() + b"\r\nContent-Length: 2097152\r\n\r\n")
        assert connection.recv(200).startswith(b"HTTP/1.1 413")
    assert user.get("/api/v1/pool")[0] == 200


def test_garbage_http_is_refused_and_server_stays_up(server, user):
    for payload in [b"NOT HTTP AT ALL\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
                    b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n"]:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            connection.sendall(payload)
            reply = connection.recv(200)
            assert reply.startswith(b"HTTP/1.1 4"), reply
    assert user.get("/healthz")[0] == 200
    code, body = user.get("/api/v1/me")
    assert code == 200 and body["username"].startswith("carol")


def test_the_server_takes_every_file_descriptor_the_system_allows():
    """Each connection, tunnel and engine call holds one: started with the soft limit most
    shells give (1024), the server raises it to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard <= 1024:
        pytest.skip("the hard limit is 1024 or less: nothing to raise")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    instance = Server()
    try:
        instance.start()  # inherits the low soft limit
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        with open(f"/proc/{instance.process.pid}/limits") as handle:
            line = next(line for line in handle if line.startswith("Max open files"))
        assert line.split()[3:5] == [str(hard), str(hard)], line
    finally:
        instance.stop()
