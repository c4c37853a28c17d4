"""The dashboard's JavaScript: its unit tests (tests/js/*.test.mjs, Node's
built-in runner, no npm packages) run as part of the suite, and its files use
only relative URLs so that the page works under any prefix.

Without Node the test fails rather than skips: CI installs it (.ci/run)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from langgraph_execution_monitor.api.routes.dashboard import STATIC_DIR

ROOT = Path(__file__).resolve().parents[1]
JS_TESTS = ROOT / "tests" / "js"
NODE_MIN_MAJOR = 20

# A URL the page loads or calls that starts at the server's root ("/static/x",
# '/api/v1/...', `/api/...`), in HTML attributes or JS string literals.
ABSOLUTE_URL = re.compile(r"""(?:\b(?:href|src|action)\s*=\s*|[(,=:]\s*)(["'`])/[\w.-]""")
COMMENT = re.compile(r"^\s*(?://|/?\*|<!--)")


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node not found: the dashboard's JavaScript unit tests need Node.js "
            f">= {NODE_MIN_MAJOR} (`apt-get install -y nodejs`; .ci/run installs it)",
            pytrace=False,
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.strip().lstrip("v").split(".")[0])
    if major < NODE_MIN_MAJOR:
        pytest.fail(f"node {version.stdout.strip()} is too old: need >= {NODE_MIN_MAJOR}")
    return node


def test_the_dashboard_javascript_unit_tests_pass() -> None:
    node = node_binary()
    files = sorted(JS_TESTS.glob("*.test.mjs"))
    assert files, f"no JavaScript tests under {JS_TESTS}"
    result = subprocess.run(
        [node, "--test", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"node --test failed:\n{result.stdout}\n{result.stderr}"
    # Every file ran, and ran tests (a file that fails to import reports no tests).
    assert re.search(r"^# pass [1-9]", result.stdout, re.M), result.stdout


def test_the_dashboard_files_use_only_relative_urls() -> None:
    offenders = []
    for path in sorted([*STATIC_DIR.glob("*.js"), *STATIC_DIR.glob("*.html")]):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ABSOLUTE_URL.search(line) and not COMMENT.match(line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == [], "absolute URLs break the page under a prefix:\n" + "\n".join(offenders)
