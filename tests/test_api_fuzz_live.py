"""The schemathesis CLI against the real server, from outside: no request gets a 5xx.

The server is started as operators start it (`python -m app.cli serve`, what
`make serve` runs: it migrates a fresh database itself) on a free port on
127.0.0.1, on a scratch database of this session on the test server
(DATABASE_URL's, or the session's embedded PostgreSQL), with
MONITORING_API_TOKEN set. The CLI reads the server's /openapi.json and runs
two passes:

- with the token header, every phase (examples, coverage, fuzzing, stateful),
  checking that no answer is a 5xx, that statuses, content types, headers and
  bodies match the document, and that invalid requests are refused
  (negative_data_rejection, with 413 among the refusals: the chat body limit);
- without it, the examples and fuzzing phases, so that every authenticated route
  answers its 401 (or the body limit its 413), never a 5xx: the document declares
  no security scheme, so the CLI's `ignored_auth` cannot see the token.

Deterministic (`--generation-deterministic`: the same cases every run) and
bounded (`--max-examples`), one worker, so that a failure reproduces.

Left out:
- GET /api/v1/monitoring/stream: it never ends. Its 401s and 422s are covered in
  test_api_auth.py and test_stream.py (test_invalid_stream_parameters_are_422);
  POST .../stream/ticket is fuzzed.
- the check positive_data_acceptance: the listing's window has rules that OpenAPI
  cannot state (`hours` with `since`, `since` not before `until`, `before` not a
  cursor, a bound at the first or last instant a datetime holds), so a
  schema-valid request can rightly be a 422. test_api_fuzz.py runs that check in
  process, allowing exactly those rules (UNSTATED_RULES).

It runs in both `make test` sessions of `.ci/run` (PostgreSQL 15 on 5432 and the
embedded 18), which run side by side, so it adds its time once to CI's wall
clock, not twice: 80 to 120 s for the module on a busy 2-core machine (120 s
with both sessions running), most of it the coverage phase with the token.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.app_process import REPO, free_port
from tests.conftest import create_database
from tests.test_api_fuzz import REJECTED

TOKEN = "live-fuzz-token"
STREAM = "/api/v1/monitoring/stream"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Every check but positive_data_acceptance (see the docstring).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
)
EXAMPLES_PER_OPERATION = 10
RUN_TIMEOUT_S = 600
# Demo inputs (README): a completed, a partial and a failed run, so that the
# listings, stats, errors and threads have rows.
SEED_MESSAGES = (
    "Create a LinkedIn post about AI",
    "Create a post about AI for twitter and linkedin",
    "Create a LinkedIn post about AI for my missing profile",
)


@dataclass
class ServedApp:
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until_live(process: subprocess.Popen[bytes], app: ServedApp, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited at start ({process.returncode}):\n{app.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{app.url}/health/live", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"serve did not answer in {timeout_s} s:\n{app.log()}")


def seed(app: ServedApp) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=app.url, headers=headers, timeout=30) as http:
        for n, message in enumerate(SEED_MESSAGES):
            answer = http.post(
                "/api/v1/chat/v2",
                json={"message": message, "user_id": f"user-{n}", "conversation_id": "conv-1"},
            )
            assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 30
        while http.get("/api/v1/monitoring/logs").json()["total"] < len(SEED_MESSAGES):
            assert time.monotonic() < deadline, "the seed runs were not written"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def served_app(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """`serve` on a scratch database (dropped with the session's), stopped by its PID."""
    database_url = asyncio.run(create_database(server_url))
    port = free_port()
    app = ServedApp(f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("live-fuzz") / "serve.log")
    environment = {
        **{k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")},
        "DATABASE_URL": database_url,
        "MONITORING_API_TOKEN": TOKEN,
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with app.log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until_live(process, app, timeout_s=120)
        seed(app)
        yield app
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)


def run_schemathesis(app: ServedApp, tmp_path: Path, *options: str) -> None:
    config = tmp_path / "schemathesis.toml"
    statuses = ", ".join(f'"{s}"' if isinstance(s, str) else str(s) for s in REJECTED)
    config.write_text(f"[checks.negative_data_rejection]\nexpected-statuses = [{statuses}]\n")
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{app.url}/openapi.json",
        "--exclude-path",
        STREAM,
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--output-truncate",
        "true",
        *options,
    ]
    log_start = len(app.log())
    try:
        result = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
        )
    except subprocess.TimeoutExpired as timeout:
        raise AssertionError(
            f"schemathesis ran over {RUN_TIMEOUT_S} s:\n{timeout.stdout}"
        ) from None
    report = result.stdout + result.stderr
    print(report)  # pytest shows it with the test's output (-rP, or on a failure)
    log = app.log()[log_start:]  # what the server said during this run
    assert result.returncode == 0, (
        f"schemathesis exited {result.returncode}:\n{report[-20_000:]}\n"
        f"--- the server's log (last 10,000 characters):\n{log[-10_000:]}"
    )
    assert "Traceback" not in log, f"the server logged exceptions:\n{log[-10_000:]}"


def test_no_request_with_the_token_gets_a_5xx_or_an_undocumented_answer(
    served_app: ServedApp, tmp_path: Path
) -> None:
    run_schemathesis(
        served_app,
        tmp_path,
        "--checks",
        ",".join(CHECKS),
        "--header",
        f"Authorization: Bearer {TOKEN}",
    )


def test_no_request_without_the_token_gets_a_5xx(served_app: ServedApp, tmp_path: Path) -> None:
    run_schemathesis(
        served_app,
        tmp_path,
        "--checks",
        ",".join(CHECKS),
        # The token is checked before the parameters, so the coverage phase's edge
        # values meet the same 401 as any other (and the stateful phase's links
        # need 200s): fuzzing alone.
        "--phases",
        "examples,fuzzing",
        "--warnings",
        "off",  # "only 401 answers" is the point of this pass
    )
