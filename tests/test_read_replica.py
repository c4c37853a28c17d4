"""Reads from a hot standby (READ_DATABASE_URL): a private primary and its standby
(`pg_basebackup -R`), both on 127.0.0.1. The API's reads are answered by the standby;
the writer, the LISTEN connection and the stream's reads stay on the primary, so the
stream misses nothing while the standby lags, and the listing catches up after replay.

The standby's replay is paused to make it lag for as long as a test needs: a read that
reached the primary by mistake would see the runs the standby cannot have yet. A read
the standby cancels for a conflict with replay is a 503, and a replica that does not
answer makes the app not ready."""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from langgraph_execution_monitor import ExecutionMonitor
from langgraph_execution_monitor.api.errors import database_error_response
from langgraph_execution_monitor.api.router import create_system_router
from langgraph_execution_monitor.storage.migrate import migrate
from tests.app_process import free_port
from tests.conftest import LiveServer
from tests.private_postgres import server_binaries, server_user
from tests.test_stream import StreamClient, connected

API = "/api/v1/monitoring"
READ_POOL_APPLICATION = "execution-monitor-api"  # the read pool's application_name
RUNS = 12
STATS_1H = "SELECT execution_monitor.execution_stats(1)::text"


@dataclass
class Replication:
    primary_url: str  # the monitor's database on the primary
    standby_url: str  # the same database, on the standby


class PrivateServer:
    """One PostgreSQL data dir and its postmaster, run as `user`, stopped by PID."""

    def __init__(self, root: Path, name: str, user: str | None) -> None:
        self.binaries = server_binaries()
        self.root, self.data, self.user = root, root / name, user
        self.port = free_port()
        self.log = root / f"{name}.log"
        self.pid: int | None = None

    def run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.binaries / program), *args],
            user=self.user,
            cwd=self.root,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, *settings: str) -> None:
        options = " ".join(f"-c {setting}" for setting in settings)
        self.run(
            "pg_ctl",
            *("-D", str(self.data), "-w", "-t", "120", "-l", str(self.log)),
            *("-o", f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off {options}"),
            "start",
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if self.pid is None:
            return
        with contextlib.suppress(subprocess.SubprocessError):
            self.run("pg_ctl", "-D", str(self.data), "-w", "-t", "30", "-m", "fast", "stop")
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)  # only if the fast stop did not end it
        self.pid = None

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


async def create_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


@pytest.fixture(scope="module")
def replication() -> Iterator[Replication]:
    """A primary, migrated through the library, and a hot standby streaming from it.
    Both are stopped by PID and their folder removed at the end, whatever happened."""
    user = server_user()
    root = Path(tempfile.mkdtemp(prefix="elm-replica-pg-"))
    if user is not None:
        shutil.chown(root, user)
    primary = PrivateServer(root, "primary", user)
    standby = PrivateServer(root, "standby", user)
    try:
        # initdb's pg_hba.conf trusts local and 127.0.0.1 connections, replication too.
        primary.run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust")
        primary.start("wal_level=replica", "hot_standby=on", "max_wal_senders=4")
        asyncio.run(create_database(primary.url("postgres"), "monitor"))
        migrate(primary.url("monitor"))
        primary.run(
            "pg_basebackup",
            *("-D", str(standby.data), "-h", "127.0.0.1", "-p", str(primary.port)),
            *("-U", "postgres", "-R", "-X", "stream", "-c", "fast"),
        )
        # -R wrote primary_conninfo and standby.signal: it starts as a hot standby.
        standby.start("hot_standby=on")
        yield Replication(primary.url("monitor"), standby.url("monitor"))
    finally:
        standby.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def settings(replication: Replication) -> Settings:
    """The app on the primary, its API's reads on the standby (overrides conftest's)."""
    return Settings(
        database_url=replication.primary_url,
        read_database_url=replication.standby_url,
        migrate_on_start=False,
        monitoring_api_token=None,
        writer_flush_interval_s=0.01,
        stale_check_interval_s=3600,
        _env_file=None,
    )


@pytest.fixture
async def standby(replication: Replication) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the standby; its replay resumed after the test, whatever happened."""
    connection = await asyncpg.connect(replication.standby_url)
    try:
        assert await connection.fetchval("SELECT pg_is_in_recovery()")
        yield connection
    finally:
        await connection.execute("SELECT pg_wal_replay_resume()")
        await connection.close()


async def pause_replay(standby: asyncpg.Connection) -> None:
    await standby.execute("SELECT pg_wal_replay_pause()")
    await until_async(
        lambda: standby.fetchval("SELECT pg_get_wal_replay_pause_state() = 'paused'"),
        "the standby's replay to pause",
    )


async def until_async(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 60
) -> None:
    """Poll an async `check()` until it is true (generous: the machine is shared)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def chat(http: httpx.AsyncClient, user_id: str, count: int) -> list[str]:
    """`count` runs of the demo agent through the app (its monitor writes them)."""
    ids = []
    for _ in range(count):
        answer = await http.post(
            "/api/v1/chat/v2",
            json={"message": "Create a LinkedIn post about AI", "user_id": user_id},
        )
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["execution_id"])
    return ids


async def applications(url: str) -> set[str]:
    """The application names of the connections to this server's monitor database."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
        )
        return {row[0] for row in rows}
    finally:
        await connection.close()


async def test_the_dashboards_reads_are_answered_by_the_standby(
    live_server: LiveServer, replication: Replication, standby: asyncpg.Connection
) -> None:
    user = f"replica-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        [run] = await chat(http, user, 1)
        await until_async(lambda: finished_on(standby, run), "the run's replay on the standby")
        await pause_replay(standby)
        # Written on the primary while the standby stands still: no read from the
        # standby can see it, any read from the primary would.
        [unseen] = await chat(http, user, 1)
        primary = await asyncpg.connect(replication.primary_url)
        try:
            await until_async(lambda: finished_on(primary, unseen), "the write on the primary")
            stats_on = {
                name: json.loads(await db.fetchval(STATS_1H))
                for name, db in (("primary", primary), ("standby", standby))
            }
        finally:
            await primary.close()

        listing = await http.get(f"{API}/logs", params={"user_id": user})
        one = await http.get(f"{API}/logs/{run}")
        missing = await http.get(f"{API}/logs/{unseen}")
        stats = await http.get(f"{API}/stats", params={"hours": 1})
        health = await http.get("/health/ready")

    assert listing.status_code == 200 and [e["id"] for e in listing.json()["logs"]] == [run]
    assert one.status_code == 200 and one.json()["id"] == run
    assert missing.status_code == 404
    totals = {name: body["total_executions"] for name, body in stats_on.items()}
    assert totals["primary"] == totals["standby"] + 1
    assert stats.status_code == 200 and stats.json()["total_executions"] == totals["standby"]
    assert health.status_code == 200
    assert (health.json()["database"], health.json()["read_replica"]) == ("reachable",) * 2
    # The read pool's connections are on the standby alone; the listener is the primary's.
    assert await applications(replication.standby_url) >= {READ_POOL_APPLICATION}
    on_primary = await applications(replication.primary_url)
    assert READ_POOL_APPLICATION not in on_primary and "execution-listener" in on_primary


async def finished_on(db: asyncpg.Connection, execution_id: str) -> bool:
    return await db.fetchval(
        "SELECT count(*) = 1 FROM execution_monitor.execution_logs"
        " WHERE id = $1 AND status <> 'running'",
        execution_id,
    )


async def test_while_the_standby_lags_the_stream_gets_every_change_and_the_listing_catches_up(
    live_server: LiveServer, standby: asyncpg.Connection
) -> None:
    await connected(live_server)
    await pause_replay(standby)
    user = f"replica-{uuid.uuid4().hex[:8]}"
    async with (
        StreamClient(live_server.url, params={"user_id": user}) as stream,
        httpx.AsyncClient(base_url=live_server.url, timeout=30) as http,
    ):
        runs = await chat(http, user, RUNS)

        def finished() -> set[str]:
            return {e["id"] for _, e in stream.executions() if e["status"] != "running"}

        await stream.wait_for(lambda: finished() == set(runs), f"all {RUNS} runs' finishes")
        lagging = await http.get(f"{API}/logs", params={"user_id": user})
        assert lagging.status_code == 200 and lagging.json()["logs"] == []

        await standby.execute("SELECT pg_wal_replay_resume()")

        async def listed() -> bool:
            page = await http.get(f"{API}/logs", params={"user_id": user, "limit": 200})
            rows = page.json()["logs"]
            return {e["id"] for e in rows if e["status"] != "running"} == set(runs)

        await until_async(listed, "the listing to show every run after replay")
        for run in runs:
            assert (await http.get(f"{API}/logs/{run}")).status_code == 200

    changes = [e for _, e in stream.executions()]
    assert {e["id"] for e in changes} == set(runs)
    assert len(finished()) == RUNS


async def test_a_read_replica_that_does_not_answer_makes_the_app_not_ready_and_says_so(
    database_url: str,
) -> None:
    nobody = f"postgres://postgres@127.0.0.1:{free_port()}/monitor"  # nothing listens there
    monitor = ExecutionMonitor(database_url, read_replica_url=nobody, flush_interval_s=0.01)
    app = FastAPI()
    app.include_router(create_system_router(monitor))
    async with (
        monitor,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://host") as http,
    ):
        ready = await http.get("/health/ready")

    assert ready.status_code == 503
    assert ready.json()["status"] == "degraded"
    assert (ready.json()["database"], ready.json()["read_replica"]) == ("reachable", "unreachable")


async def test_a_read_the_standby_cancels_for_a_conflict_with_replay_is_a_503(
    replication: Replication, standby: asyncpg.Connection
) -> None:
    primary = await asyncpg.connect(replication.primary_url)
    reader = await asyncpg.connect(replication.standby_url)
    try:
        await standby.execute("ALTER SYSTEM SET max_standby_streaming_delay = 0")
        await standby.execute("SELECT pg_reload_conf()")
        table = f"scratch_{uuid.uuid4().hex[:8]}"
        await primary.execute(f"CREATE TABLE public.{table} AS SELECT 1 AS x")
        await until_async(
            lambda: standby.fetchval("SELECT to_regclass($1) IS NOT NULL", f"public.{table}"),
            "the table on the standby",
        )
        # A read on the standby whose snapshot still sees the row that VACUUM removes.
        read = asyncio.create_task(
            reader.fetchval(f"SELECT count(*) FROM public.{table}, pg_sleep(60)")
        )
        await until_async(
            lambda: standby.fetchval(
                "SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)'"
                " AND state = 'active' AND pid <> pg_backend_pid()"
            ),
            "the read to run",
        )
        await primary.execute(f"DELETE FROM public.{table}")
        await primary.execute(f"VACUUM public.{table}")
        with pytest.raises(asyncpg.PostgresError) as cancelled:
            await asyncio.wait_for(read, 60)
    finally:
        await standby.execute("ALTER SYSTEM RESET max_standby_streaming_delay")
        await standby.execute("SELECT pg_reload_conf()")
        await reader.close()
        await primary.close()

    assert "conflict with recovery" in str(cancelled.value)
    answer = database_error_response(cancelled.value)
    assert answer is not None and answer.status_code == 503
    assert answer.headers["Retry-After"]
