"""CI's check of the wheel as a user gets it: `python -m tests.wheel_check`
(`make wheel-check`).

Builds the wheel, installs it (no extras, versions from the constraints file)
into a fresh virtual env, and from a folder with no source tree: migrates a
fresh database on DATABASE_URL's server through the installed library, checks
that `status` finds nothing pending, that the wheel holds no `app` package, and
that without the `[embedded]` extra a missing DATABASE_URL says what to
install. Then the example host app (examples/host_app: its own package named
`app`, its own graph) runs on that venv under uvicorn: a run through its HTTP
endpoint and one from a sync script land in the table and are served under its
/monitoring prefix, and no object was created outside the library's schema.
The database is dropped at the end."""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import asyncpg

from langgraph_execution_monitor.storage.urls import with_database

REPO = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO / "requirements" / "constraints.txt"


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, cwd=cwd, env=env
    )
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{done.stdout}{done.stderr}")
    return done.stdout


async def drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(method: str, url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, answer.read().decode()


def wait_until(check, what: str, timeout_s: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"wheel check: timed out waiting for {what}")
        time.sleep(0.2)


def check_example_app(python: Path, root: Path, env: dict[str, str]) -> None:
    """The example host app, with its own `app` package, adopting the installed wheel."""
    host = root / "host_app"
    shutil.copytree(REPO / "examples" / "host_app", host)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(python),
            "-m",
            "uvicorn",
            "app.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=host,
        env=env,
    )
    try:
        wait_until(lambda: http("GET", f"{base}/monitoring/")[0] == 200, "the example app")
        status, body = http("POST", f"{base}/ask?question=hello&thread_id=t-async")
        assert status == 200 and "You asked: hello" in body, body
        run(python, "sync_script.py", "from a script", "t-sync", cwd=host, env=env)
        for thread, request in (("t-async", "hello"), ("t-sync", "from a script")):
            url = f"{base}/monitoring/api/v1/monitoring/conversations/{thread}/logs"
            page = wait_until(
                lambda url=url: (p := json.loads(http("GET", url)[1]))["total"] == 1 and p,
                f"the {thread} run",
            )
            (log,) = page["logs"]
            assert (log["status"], log["request_message"]) == ("completed", request), log
        print("example host app: runs from HTTP and from a sync script served under /monitoring")
    finally:
        server.terminate()
        server.wait(15)


async def check_only_library_schema(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        # Every schema but the library's and the system's (not only public): tables,
        # views, sequences, indexes, functions, and schemas themselves; an extension's
        # members (pg_trgm's functions) belong to the extension.
        outside = await connection.fetch(
            """WITH other AS (
                   SELECT oid, nspname FROM pg_namespace
                   WHERE nspname NOT IN ('execution_monitor', 'pg_catalog', 'information_schema')
                     AND nspname NOT LIKE 'pg\\_%')
               SELECT n.nspname || '.' || c.relname AS name
               FROM pg_class c JOIN other n ON n.oid = c.relnamespace
               UNION ALL
               SELECT n.nspname || '.' || p.proname
               FROM pg_proc p JOIN other n ON n.oid = p.pronamespace
               WHERE NOT EXISTS (
                   SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                     AND d.objid = p.oid AND d.deptype = 'e')
               UNION ALL
               SELECT 'schema ' || nspname FROM other WHERE nspname <> 'public'"""
        )
    finally:
        await connection.close()
    assert not outside, f"objects outside the library's schema: {[r['name'] for r in outside]}"
    print("no object outside the execution_monitor schema")


def main() -> None:
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        raise SystemExit("wheel_check needs DATABASE_URL (a server it may create a database on)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="elm-wheel-") as scratch:
        root = Path(scratch)
        run(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            root / "dist",
            REPO,
            cwd=root,
        )
        wheel = next((root / "dist").glob("langgraph_execution_monitor-*.whl"))
        run(sys.executable, "-m", "venv", root / "venv", cwd=root)
        python = root / "venv" / "bin" / "python"
        run(
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-c",
            CONSTRAINTS,
            wheel,
            cwd=root,
        )
        print(f"installed {wheel.name} in a fresh venv ({time.monotonic() - started:.0f} s)")

        elsewhere = root / "work"
        elsewhere.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
        cli = root / "venv" / "bin" / "langgraph-execution-monitor"

        probe_code = (
            "import importlib.util as u, langgraph_execution_monitor as m; "
            "print(u.find_spec('app') is None, m.__file__)"
        )
        probe = run(python, "-c", probe_code, cwd=elsewhere, env=env)
        no_app, location = probe.split()
        assert no_app == "True", "the wheel installs a package named app"
        assert location.startswith(str(root / "venv")), location

        name = f"wheel_check_{uuid.uuid4().hex[:8]}"
        url = with_database(server_url, name)
        try:
            output = run(
                cli, "migrate", "--create-database", cwd=elsewhere, env={**env, "DATABASE_URL": url}
            )
            assert "Migrations: applied" in output, output
            status = run(
                cli, "status", "--port", "9", cwd=elsewhere, env={**env, "DATABASE_URL": url}
            )
            assert " 0 pending" in status, status
            print(output.strip())
            check_example_app(python, root, {**env, "DATABASE_URL": url})
            asyncio.run(check_only_library_schema(url))
        finally:
            asyncio.run(drop_database(server_url, name))

        no_embedded = subprocess.run(
            [str(cli), "migrate"],
            capture_output=True,
            text=True,
            cwd=elsewhere,
            env={k: v for k, v in env.items() if k != "DATABASE_URL"},
        )
        assert no_embedded.returncode == 2, no_embedded
        assert "[embedded]" in no_embedded.stderr, no_embedded.stderr
        assert not (elsewhere / "var").exists()
    print(f"wheel check passed in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
