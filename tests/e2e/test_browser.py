"""The web portal in a real browser: tests/browser/portal.mjs drives Debian's chromium with
playwright-core against this run's `gpupool up`, and saves screenshots in docs/screenshots."""
import os
import subprocess

from conftest import ADMIN_PASSWORD

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_TESTS = os.path.join(HERE, "..", "browser")
SCREENSHOTS = os.path.join(HERE, "..", "..", "docs", "screenshots")


def test_portal_in_chromium(server):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    result = subprocess.run(["node", "portal.mjs", server.base, ADMIN_PASSWORD, SCREENSHOTS],
                            cwd=BROWSER_TESTS, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "portal: all steps passed" in result.stdout
