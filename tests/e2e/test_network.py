"""Sessions are islands on the network, proved from inside real session containers: code in a
notebook (what any user or pip package can run) tries to reach another session, this host's
services, a cloud metadata address and the internet; SSH forwarding reaches only the session
itself. The firewall is the host's, so this file runs alone (RUN_SERIAL in CTest)."""
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import (Api, Server, docker, free_port, mint_token, probe, remove_containers, run_in_kernel,
                      wait_for_state, wait_until_open)

SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
               "-o", "ConnectTimeout=10", "-o", "BatchMode=yes"]
INTERNET = "198.51.100.1"  # TEST-NET-2: stands in for any address on the internet
DENIED = "203.0.113.1"     # TEST-NET-3: a block the admin closes to sessions (e.g. a management LAN)
METADATA = "169.254.169.254"
OUTSIDE_PORT = 8000

def sh(*command):
    subprocess.run(command, check=True, capture_output=True)


@pytest.fixture(scope="module")
def outside():
    """The world beyond the host: a network namespace behind a veth pair, answering HTTP on an
    internet address, on the cloud metadata address and on a denied LAN address."""
    name = "gpt" + secrets.token_hex(3)
    host_end, far_end = name + "h", name + "f"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", far_end)
        sh("ip", "link", "set", far_end, "netns", name)
        for near, far in (("198.51.100.2/24", INTERNET + "/24"), ("169.254.169.1/24", METADATA + "/24"),
                          ("203.0.113.2/24", DENIED + "/24")):
            sh("ip", "addr", "add", near, "dev", host_end)
            sh("ip", "netns", "exec", name, "ip", "addr", "add", far, "dev", far_end)
        sh("ip", "link", "set", host_end, "up")
        sh("ip", "netns", "exec", name, "ip", "link", "set", far_end, "up")
        sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        served = tempfile.mkdtemp(prefix="gpupool-e2e-outside-")
        listener = subprocess.Popen(["ip", "netns", "exec", name, "/usr/bin/python3", "-m", "http.server",
                                     str(OUTSIDE_PORT), "--bind", "0.0.0.0", "--directory", served],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Control: the host itself reaches all three, so a refusal later is the firewall's.
        for address in (INTERNET, METADATA, DENIED):
            assert wait_until_open(address, OUTSIDE_PORT), address
        yield
        listener.kill()
        shutil.rmtree(served, ignore_errors=True)
    finally:
        subprocess.run(["ip", "netns", "del", name])
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)


def start_server(*extra_args):
    instance = Server(extra_args=extra_args)
    instance.start()
    return instance


def stop_server(instance):
    instance.stop()
    remove_containers(instance)
    shutil.rmtree(instance.data_dir, ignore_errors=True)


def new_user(instance, admin, public_key=None):
    name = "net" + secrets.token_hex(3)
    password = "pw-" + secrets.token_hex(8)
    status, body = admin.post("/api/v1/users", {"username": name, "password": password})
    assert status == 201, body
    api = Api(instance.base, mint_token(instance.base, name, password))
    if public_key:
        assert api.call("PUT", "/api/v1/me/ssh-keys", {"keys": [public_key]})[0] == 200
    return name, api


def running_session(api):
    status, session = api.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    return wait_for_state(api, session["id"], {"running"})


def addresses(session):
    """The container's own address and its network's gateway (this host, seen from inside)."""
    inspect = json.loads(docker("inspect", f"gpupool-{session['id']}").stdout)[0]
    networks = inspect["NetworkSettings"]["Networks"]
    assert list(networks) == [f"gpupool-{session['id']}"], "one network, the session's own"
    network = networks[f"gpupool-{session['id']}"]
    return network["IPAddress"], network["Gateway"]


def forward_through_ssh(session, key, target):
    """`ssh -L` to `target` (what VS Code and TensorBoard users do): an HTTP request through the
    forwarded port; returns what came back and what ssh said."""
    info = session["ssh"]
    local_port = free_port()
    tunnel = subprocess.Popen(
        # LogLevel INFO (ssh keeps the first value given): a refused channel is logged at INFO.
        ["ssh", "-o", "LogLevel=INFO", *SSH_OPTIONS, "-o", "ExitOnForwardFailure=yes", "-i", key, "-p", str(info["port"]), "-N",
         "-L", f"127.0.0.1:{local_port}:{target}", f"{info['user']}@{info['host']}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_until_open("127.0.0.1", local_port), "the forward never listened"
        with socket.create_connection(("127.0.0.1", local_port), timeout=20) as connection:
            connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
            reply = b""
            try:
                while chunk := connection.recv(4096):
                    reply += chunk
            except ConnectionResetError:
                pass  # ssh drops the local connection of a channel the server refused
        time.sleep(0.5)  # ssh reports a refused channel just after closing the connection
    finally:
        tunnel.terminate()
        _, stderr = tunnel.communicate(timeout=20)
    return reply, stderr


def test_sessions_reach_neither_each_other_nor_the_host_nor_metadata(outside, host_service, key_pair):
    key_path, public_key = key_pair
    instance = start_server("--session-deny", "203.0.113.0/24")
    try:
        admin = Api(instance.base, mint_token(instance.base, "admin", instance.admin_password))
        _, alice = new_user(instance, admin, public_key)
        _, bob = new_user(instance, admin)
        mine, theirs = running_session(alice), running_session(bob)
        my_address, host_address = addresses(mine)
        their_address, _ = addresses(theirs)
        assert my_address != their_address

        # Controls: from the host, the other session's Jupyter and SSH, the host service and
        # the published SSH port all answer.
        for address, port in ((their_address, 8888), (their_address, 2222), (host_address, host_service),
                              (host_address, theirs["ssh"]["port"])):
            assert wait_until_open(address, port), (address, port)

        seen = probe(mine, alice, [
            ("127.0.0.1", 8888), ("127.0.0.1", 2222),               # its own ports
            (INTERNET, OUTSIDE_PORT),                              # the internet
            (their_address, 8888), (their_address, 2222),          # another session, directly
            (host_address, theirs["ssh"]["port"]),                 # … and through its published port
            (host_address, host_service),                          # a host service
            (METADATA, OUTSIDE_PORT), (METADATA, 80),              # cloud metadata
            (DENIED, OUTSIDE_PORT),                                # the admin's denied block
        ])
        assert seen.pop("127.0.0.1:8888") == "open"
        assert seen.pop("127.0.0.1:2222") == "open"
        assert seen.pop(f"{INTERNET}:{OUTSIDE_PORT}") == "open", "sessions reach the internet by default"
        assert all(outcome != "open" for outcome in seen.values()), seen
        # Refused at once, not left to time out.
        assert "timeout" not in json.dumps(seen), seen

        # No IPv6 to go around the IPv4 firewall.
        ipv6 = run_in_kernel(mine, "print(open('/proc/sys/net/ipv6/conf/all/disable_ipv6').read().strip(),"
                                   " len(open('/proc/net/if_inet6').read()))", alice)
        assert ipv6.split() == ["1", "0"], ipv6

        # SSH forwarding reaches the session's own ports, and nothing else.
        reply, _ = forward_through_ssh(mine, key_path, "localhost:8888")
        assert reply.startswith(b"HTTP/1."), reply
        reply, said = forward_through_ssh(mine, key_path, f"{their_address}:8888")
        assert reply == b"", reply
        assert b"prohibited" in said, said
    finally:
        stop_server(instance)


def test_an_air_gapped_site_closes_the_internet_too(outside):
    instance = start_server("--no-session-internet")
    try:
        admin = Api(instance.base, mint_token(instance.base, "admin", instance.admin_password))
        _, carol = new_user(instance, admin)
        session = running_session(carol)
        seen = probe(session, carol, [("127.0.0.1", 8888), (INTERNET, OUTSIDE_PORT)])
        assert seen["127.0.0.1:8888"] == "open"
        assert seen[f"{INTERNET}:{OUTSIDE_PORT}"] != "open"
        # Its own Jupyter still works through the gateway: replies are not outbound traffic.
        assert run_in_kernel(session, "print(1 + 1)", carol) == "2\n"
    finally:
        stop_server(instance)
