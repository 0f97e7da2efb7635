"""GPU servers of their own on one machine, for the multi-node tests: each node is a network
namespace joined to a host bridge (its own address, reachable only over that link) with its
own Docker engine (own data root, exec root, socket and bridge subnet) and its own
`gpupool agent`. A `gpupool server` listens on the bridge's host address.
"""
import base64
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request

from conftest import BINARY

BRIDGE = "gpe2e0"
# A subnet of its own each run: no neighbour entry of an earlier run's nodes can linger.
NETWORK = f"10.77.{random.randrange(0, 250)}"
SERVER_ADDRESS = f"{NETWORK}.1"
SLIM_IMAGE = "gpupool/session:e2e-slim"
FULL_IMAGE = "gpupool/session:pytorch1.13-cpu-debian12-runtime"
IMAGE_TAG = "pytorch1.13-cpu-debian12-runtime"


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def ensure_bridge():
    if sh("ip", "link", "show", BRIDGE, check=False).returncode != 0:
        # A MAC of its own: a bridge otherwise takes the lowest of its ports', which changes as
        # nodes come and go, and the nodes' neighbour entries for the server go stale with it.
        sh("ip", "link", "add", BRIDGE, "address", "02:67:70:00:00:01", "type", "bridge")
        sh("ip", "addr", "add", f"{SERVER_ADDRESS}/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")


def remove_bridge():
    sh("ip", "link", "del", BRIDGE, check=False)


class Registry:
    """Debian's docker-registry beside the server, with a login (htpasswd over plain HTTP, as
    on a lab's private network): the host pushes the slim image to it once, as an admin would,
    and the nodes pull it over their links."""

    USER = "e2e-puller"

    def __init__(self, work_dir, port, host=SERVER_ADDRESS):
        self.root = os.path.join(work_dir, "registry")
        os.makedirs(self.root)
        self.port = port
        self.address = f"{host}:{port}"  # as the nodes and the server reach it
        self.password = secrets.token_hex(12)
        self.process = None
        self.docker_config = os.path.join(self.root, "docker-config")  # the pusher's login only

    def start(self):
        with open(os.path.join(self.root, "htpasswd"), "w") as handle:
            handle.write(sh("htpasswd", "-Bbn", self.USER, self.password).stdout)
        with open(os.path.join(self.root, "config.yml"), "w") as handle:
            handle.write(f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {self.root}/data
http:
  addr: 0.0.0.0:{self.port}
auth:
  htpasswd:
    realm: gpupool-e2e
    path: {self.root}/htpasswd
""")
        log = open(os.path.join(self.root, "registry.log"), "a")
        self.process = subprocess.Popen(["docker-registry", "serve", os.path.join(self.root, "config.yml")],
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/", timeout=2)
            except urllib.error.HTTPError as error:
                if error.code == 401:
                    return  # it answers, and asks who is there
            except OSError:
                pass
            assert self.process.poll() is None, "docker-registry exited"
            assert time.time() < deadline, "docker-registry did not answer"
            time.sleep(0.2)

    def push(self, image, repository):
        """Pushes through 127.0.0.1, which engines speak plain HTTP to without being told."""
        local = f"127.0.0.1:{self.port}/{repository}"
        env = dict(os.environ, DOCKER_CONFIG=self.docker_config)
        subprocess.run(["docker", "login", "-u", self.USER, "--password-stdin", f"127.0.0.1:{self.port}"],
                       input=self.password, text=True, env=env, check=True, capture_output=True)
        sh("docker", "tag", image, local)
        subprocess.run(["docker", "push", local], env=env, check=True, capture_output=True)
        sh("docker", "rmi", local, check=False)
        return f"{self.address}/{repository}"

    def push_tiny(self, repository):
        """A one-file image: enough to see a node pull it ahead of need."""
        with open(os.path.join(self.root, "marker"), "w") as handle:
            handle.write("pulled ahead\n")
        tar = subprocess.run(["tar", "-c", "-f", "-", "-C", self.root, "marker"], capture_output=True,
                             check=True).stdout
        subprocess.run(["docker", "import", "-", "gpupool/e2e-tiny:1"], input=tar, check=True,
                       capture_output=True)
        return self.push("gpupool/e2e-tiny:1", repository)

    def auth_file(self, path):
        """The server's --registry-auth: Docker's config.json format, owner-only."""
        token = base64.b64encode(f"{self.USER}:{self.password}".encode()).decode()
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            json.dump({"auths": {self.address: {"auth": token}}}, handle)
        return path

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def ensure_slim_image():
    """The default session image without PyTorch (a third of its size), so that loading it
    into every node's engine stays quick. Made once per machine from the full image."""
    if sh("docker", "image", "inspect", SLIM_IMAGE, check=False).returncode == 0:
        return
    builder = "gpupool-e2e-slim-build"
    sh("docker", "rm", "-f", builder, check=False)
    sh("docker", "run", "--name", builder, "--entrypoint", "sh", FULL_IMAGE, "-c",
       "apt-get purge -y -q 'python3-torch*' 'libtorch*' >/dev/null 2>&1; "
       "apt-get autoremove -y -q --purge >/dev/null 2>&1; "
       "rm -rf /var/cache/apt/* /var/lib/apt/lists/* /usr/share/doc /usr/share/man")
    export = subprocess.Popen(["docker", "export", builder], stdout=subprocess.PIPE)
    subprocess.run(["docker", "import",
                    "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "--change", "ENV LANG=C.UTF-8",
                    "--change", f"LABEL io.gpupool.image.tag={IMAGE_TAG}", "-", SLIM_IMAGE],
                   stdin=export.stdout, check=True, capture_output=True)
    export.wait()
    sh("docker", "rm", "-f", builder, check=False)


class NodeHost:
    """One simulated GPU server: namespace, engine, agent."""

    def __init__(self, index, work_dir, home_root=None, registry=None):
        self.name = f"gpn{index}"
        self.home_root = home_root  # the homes every node shares, as an NFS mount would be
        self.registry = registry  # HOST:PORT its engine speaks plain HTTP to
        self.address = f"{NETWORK}.{10 + index}"
        self.netns = f"gpupool-e2e-{self.name}"
        self.root = os.path.join(work_dir, self.name)
        self.socket = f"/run/gpupool-e2e-{self.name}.sock"
        self.engine = f"unix://{self.socket}"
        self.state_dir = os.path.join(self.root, "agent-state")
        self.agent = None
        self.agent_log = os.path.join(self.root, "agent.log")
        self.dockerd = None
        self.index = index
        self.agent_options = []  # given to every start of its agent

    def in_netns(self, *command):
        return ["nsenter", f"--net=/var/run/netns/{self.netns}", *command]

    def remove_leftovers(self):
        """What a run killed before its teardown left: the engine, the namespace, the link."""
        try:
            with open(f"/run/gpupool-e2e-{self.name}.pid") as handle:
                os.kill(int(handle.read().strip()), signal.SIGTERM)
            time.sleep(3)
        except (OSError, ValueError):
            pass
        sh("ip", "netns", "del", self.netns, check=False)
        sh("ip", "link", "del", f"gpe{self.index}h", check=False)

    def create(self):
        self.remove_leftovers()
        os.makedirs(self.root, exist_ok=True)
        sh("ip", "netns", "add", self.netns)
        host_end, node_end = f"gpe{self.index}h", f"gpe{self.index}n"
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", node_end)
        sh("ip", "link", "set", host_end, "master", BRIDGE, "up")
        sh("ip", "link", "set", node_end, "netns", self.netns)
        sh(*self.in_netns("ip", "addr", "add", f"{self.address}/24", "dev", node_end))
        sh(*self.in_netns("ip", "link", "set", node_end, "up"))
        sh(*self.in_netns("ip", "link", "set", "lo", "up"))
        sh(*self.in_netns("ip", "route", "add", "default", "via", SERVER_ADDRESS))
        log = open(os.path.join(self.root, "dockerd.log"), "a")
        self.dockerd = subprocess.Popen(
            self.in_netns("dockerd", "--data-root", os.path.join(self.root, "docker"),
                          "--exec-root", f"/run/gpupool-e2e-{self.name}-exec", "-H", self.engine,
                          "--pidfile", f"/run/gpupool-e2e-{self.name}.pid",
                          "--bip", f"10.78.{self.index}.1/24",
                          *(["--insecure-registry", self.registry] if self.registry else [])),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while sh("docker", "-H", self.engine, "version", check=False).returncode != 0:
            assert self.dockerd.poll() is None, "dockerd of " + self.name + " exited"
            assert time.time() < deadline, "dockerd of " + self.name + " did not answer"
            time.sleep(0.3)

    def has_image(self, reference):
        return sh("docker", "-H", self.engine, "image", "inspect", reference, check=False).returncode == 0

    def start_agent(self, server_url, pin, token=None, gpus="2xA100-80GB", extra=()):
        command = [BINARY, "agent", "--server", server_url, "--ca-sha256", pin,
                   "--state-dir", self.state_dir, "--node-name", self.name, "--engine", self.engine,
                   "--simulate-gpus", gpus, "--node-cpus", "16", "--node-memory-gb", "64",
                   "--port-range", "31000-31099", "--node-label", f"host={self.name}"]
        if self.home_root:
            command += ["--home-root", self.home_root]
        if token:
            command += ["--join-token", token]
        command += self.agent_options + list(extra)
        log = open(self.agent_log, "a")
        self.agent = subprocess.Popen(self.in_netns(*command), stdout=log, stderr=subprocess.STDOUT)

    def kill_agent(self, how=signal.SIGKILL):
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(how)
            try:
                self.agent.wait(timeout=30)
            except subprocess.TimeoutExpired:
                if shutil.which("gdb"):
                    trace = subprocess.run(["gdb", "-p", str(self.agent.pid), "-batch", "-ex",
                                            "thread apply all bt 15"], capture_output=True, text=True)
                    print("\n".join(line for line in trace.stdout.splitlines()
                                    if line.startswith(("#", "Thread"))))
                self.agent.kill()
                self.agent.wait(timeout=30)
                raise AssertionError(f"the agent of {self.name} did not stop within 30 s of {how}")

    def containers(self):
        return sh("docker", "-H", self.engine, "ps", "-aq", "--filter", "label=io.gpupool.session",
                  check=False).stdout.split()

    def log(self):
        try:
            with open(self.agent_log) as handle:
                return handle.read()[-4000:]
        except OSError:
            return ""

    def destroy(self):
        try:
            self.kill_agent(signal.SIGTERM)
        except AssertionError as error:
            print(error)
        print(f"--- agent {self.name}\n{self.log()}")
        ids = self.containers()
        if ids:
            sh("docker", "-H", self.engine, "rm", "-f", *ids, check=False)
        if self.dockerd and self.dockerd.poll() is None:
            self.dockerd.terminate()
            try:
                self.dockerd.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.dockerd.kill()
        sh("ip", "netns", "del", self.netns, check=False)
        sh("ip", "link", "del", f"gpe{self.index}h", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
