"""The web portal in a real browser: tests/browser/portal.mjs drives Debian's chromium with
playwright-core against a `gpupool up` that gives each session its own origin
(--session-domain localhost: Chromium sends *.localhost to this machine), and saves
screenshots in docs/screenshots."""
import os
import signal
import subprocess
import tempfile

import pytest

from conftest import ADMIN_PASSWORD, Server, remove_containers

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_TESTS = os.path.join(HERE, "..", "browser")
SCREENSHOTS = os.path.join(HERE, "..", "..", "docs", "screenshots")


def run_to_end(command, cwd, timeout):
    """Runs command in its own process group; on timeout the whole group (node and every
    chromium process it started) is killed, so a stuck browser cannot hold the test open.
    Output goes to a file, not a pipe that a leftover child could keep open."""
    with tempfile.TemporaryFile(mode="w+") as output:
        process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        output.seek(0)
        return returncode, output.read()


@pytest.fixture(scope="module")
def isolating_server():
    instance = Server(extra_args=["--session-domain", "localhost"])
    instance.start()
    yield instance
    instance.stop()
    remove_containers(instance)


def test_portal_in_chromium(isolating_server):
    server = isolating_server
    os.makedirs(SCREENSHOTS, exist_ok=True)
    returncode, output = run_to_end(["node", "portal.mjs", server.base, ADMIN_PASSWORD, SCREENSHOTS],
                                    BROWSER_TESTS, timeout=360)
    assert returncode == 0, f"exit {returncode}\n{output}"
    assert "portal: all steps passed" in output
