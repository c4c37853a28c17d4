"""How the writer treats each kind of failed write (`write_errors.py`): permanent
errors block it without a retry storm and wait for a fix, transient ones are
retried, data errors lose only the bad event. Against a real database."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from asyncpg.exceptions import _base as asyncpg_base
from fastapi import FastAPI

from app.api.main import create_app
from app.config import Settings
from langgraph_execution_monitor.write_errors import WriteErrorKind, classify
from langgraph_execution_monitor.writer import LogWriter, PoolFactory, writer_pool_factory
from tests.factories import finished, started

WRITER_BACKENDS = """
    SELECT pid FROM pg_stat_activity
    WHERE application_name = 'execution-log-writer' AND datname = current_database()"""
HIDE_WRITE_FUNCTION = "ALTER FUNCTION log_batch_v5 RENAME TO log_batch_v5_hidden"
RESTORE_WRITE_FUNCTION = "ALTER FUNCTION log_batch_v5_hidden RENAME TO log_batch_v5"

MakeWriter = Callable[..., LogWriter]


@pytest.fixture
async def make_writer(database_url: str) -> AsyncIterator[MakeWriter]:
    writers: list[LogWriter] = []

    def make(pool_factory: PoolFactory | None = None, **options: Any) -> LogWriter:
        options = {
            "flush_interval_s": 0.01,
            "retry_max_backoff_s": 0.1,
            "permanent_retry_interval_s": 0.1,
            "stale_after_s": None,
            **options,
        }
        writer = LogWriter(pool_factory or writer_pool_factory(database_url, 2), **options)
        writers.append(writer)
        writer.start()
        return writer

    yield make
    for writer in writers:
        # The test is over: a writer whose database is down or blocked cannot
        # drain, and what one has not written by now is of no interest.
        await writer.stop(0.2)


async def eventually(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (asyncpg.UndefinedFunctionError("no log_batch_v3"), WriteErrorKind.PERMANENT),
        (asyncpg.UndefinedTableError("no execution_logs"), WriteErrorKind.PERMANENT),
        (asyncpg.InsufficientPrivilegeError("denied"), WriteErrorKind.PERMANENT),
        (asyncpg.InvalidPasswordError("bad password"), WriteErrorKind.PERMANENT),
        (asyncpg.InvalidSchemaNameError("no schema"), WriteErrorKind.PERMANENT),
        (asyncpg.ConnectionDoesNotExistError("gone"), WriteErrorKind.TRANSIENT),
        (asyncpg.TooManyConnectionsError("full"), WriteErrorKind.TRANSIENT),
        (asyncpg.AdminShutdownError("shutdown"), WriteErrorKind.TRANSIENT),
        (asyncpg.QueryCanceledError("statement timeout"), WriteErrorKind.TRANSIENT),
        (asyncpg.DeadlockDetectedError("deadlock"), WriteErrorKind.TRANSIENT),
        (asyncpg.SerializationError("serialization"), WriteErrorKind.TRANSIENT),
        (asyncpg.LockNotAvailableError("lock timeout"), WriteErrorKind.TRANSIENT),
        (ConnectionRefusedError("refused"), WriteErrorKind.TRANSIENT),
        (asyncpg.InternalClientError("cannot switch to state 12"), WriteErrorKind.TRANSIENT),
        (asyncpg.NotNullViolationError("null"), WriteErrorKind.DATA),
        (asyncpg.CharacterNotInRepertoireError("bad text"), WriteErrorKind.DATA),
        (asyncpg_base.DataError("invalid input for query argument $13"), WriteErrorKind.DATA),
        (RuntimeError("a bug"), None),
    ],
)
def test_write_errors_are_classified_by_what_would_make_the_write_succeed(
    error: BaseException, kind: WriteErrorKind | None
) -> None:
    assert classify(error) is kind


async def test_a_missing_write_function_holds_the_events_until_it_is_back(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    await db.execute(HIDE_WRITE_FUNCTION)
    writer = make_writer()
    runs = [started() for _ in range(30)]
    for start in runs:
        writer.enqueue(start)
        writer.enqueue(finished(start))
    await eventually(lambda: writer.stats.permanent_errors >= 3)
    assert writer.stats.blocked_by is not None and "42883" in writer.stats.blocked_by
    assert (writer.queue_depth, writer.stats.written) == (60, 0)

    await db.execute(RESTORE_WRITE_FUNCTION)
    await eventually(lambda: writer.stats.written == 60)
    assert writer.stats.blocked_by is None
    assert (writer.stats.dropped, writer.stats.failed_to_log, writer.stats.retries) == (0, 0, 0)
    completed = await db.fetchval(
        "SELECT count(*) FROM execution_logs WHERE status = 'completed' AND id = ANY($1)",
        [start.execution_id for start in runs],
    )
    assert completed == 30


async def test_a_permanent_error_keeps_the_writers_connections(
    make_writer: MakeWriter, database_url: str, db: asyncpg.Connection
) -> None:
    await db.execute(HIDE_WRITE_FUNCTION)
    writer = make_writer(connections=1, pool_factory=writer_pool_factory(database_url, 1))
    writer.enqueue(started())
    await eventually(lambda: writer.stats.permanent_errors >= 1)
    first = {r["pid"] for r in await db.fetch(WRITER_BACKENDS)}
    await eventually(lambda: writer.stats.permanent_errors >= 6)
    later = {r["pid"] for r in await db.fetch(WRITER_BACKENDS)}
    # Six refused attempts over one connection, never terminated and reopened.
    assert len(first) == 1 and later == first
    assert writer.stats.retries == 0


async def test_a_permanent_error_is_tried_again_only_at_its_slow_interval(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    await db.execute(HIDE_WRITE_FUNCTION)
    writer = make_writer(connections=1, permanent_retry_interval_s=3600)
    writer.enqueue(started())
    await eventually(lambda: writer.stats.permanent_errors >= 1)
    await asyncio.sleep(1.0)  # with the transient backoff (0.1 s), this is 10 retries
    assert (writer.stats.permanent_errors, writer.stats.retries) == (1, 0)


async def test_a_lock_timeout_is_retried_as_transient_and_everything_written(
    make_writer: MakeWriter, database_url: str, db: asyncpg.Connection
) -> None:
    async def pool_with_lock_timeout() -> asyncpg.Pool:
        return await asyncpg.create_pool(
            database_url,
            min_size=0,
            max_size=2,
            server_settings={
                "application_name": "execution-log-writer",
                "lock_timeout": "50",
            },
        )

    writer = make_writer(pool_factory=pool_with_lock_timeout)
    runs = [started() for _ in range(20)]
    async with db.transaction():
        await db.execute("LOCK TABLE execution_logs IN EXCLUSIVE MODE")
        for start in runs:
            writer.enqueue(start)
        await eventually(lambda: writer.stats.retries >= 3)
        assert writer.stats.blocked_by is None and writer.stats.permanent_errors == 0
        assert writer.stats.last_error is not None and "55P03" in writer.stats.last_error
    await eventually(lambda: writer.stats.written == 20)
    assert (writer.stats.dropped, writer.stats.failed_to_log) == (0, 0)
    assert await db.fetchval("SELECT count(*) FROM execution_logs") == 20


async def test_a_value_the_database_cannot_store_loses_only_its_own_event(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer(connections=1)
    good = [started() for _ in range(9)]
    bad = started()
    # Tokens past int4: refused when the batch is unpacked (class 22, a data error).
    trace = [{"node": "llm", "status": "completed", "tokens": {"input": 10**12}}]
    for start in good:
        writer.enqueue(finished(start))
    writer.enqueue(finished(bad, trace=trace))
    await eventually(lambda: writer.stats.written + writer.stats.failed_to_log == 10)
    assert (writer.stats.written, writer.stats.failed_to_log) == (9, 1)
    assert (writer.stats.retries, writer.stats.permanent_errors) == (0, 0)
    assert writer.stats.last_error is not None and "[22003]" in writer.stats.last_error
    stored = {r["id"] for r in await db.fetch("SELECT id FROM execution_logs")}
    assert stored == {start.execution_id for start in good}


@pytest.fixture
async def blocked_app(settings: Settings, db: asyncpg.Connection) -> AsyncIterator[FastAPI]:
    await db.execute(HIDE_WRITE_FUNCTION)
    settings.permanent_retry_interval_s = 0.1
    settings.monitoring_api_token = "secret"
    settings.shutdown_drain_timeout_s = 0.2  # blocked, the writer cannot drain at the end
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_ready_health_reports_a_writer_blocked_by_a_permanent_error(
    blocked_app: FastAPI,
) -> None:
    writer: LogWriter = blocked_app.state.writer
    writer.enqueue(started())
    await eventually(lambda: writer.stats.permanent_errors >= 1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=blocked_app), base_url="http://testserver"
    ) as client:
        anonymous = await client.get("/health/ready")
        detailed = await client.get("/health/ready", headers={"Authorization": "Bearer secret"})
    assert anonymous.status_code == 503
    assert anonymous.json()["writer"] == {"state": "blocked"}
    body = detailed.json()["writer"]
    assert body["state"] == "blocked" and body["queue_depth"] == 1
    assert "42883" in body["blocked_by"] and body["permanent_errors"] >= 1


async def test_metrics_show_a_writer_blocked_by_a_permanent_error(blocked_app: FastAPI) -> None:
    writer: LogWriter = blocked_app.state.writer
    writer.enqueue(started())
    await eventually(lambda: writer.stats.permanent_errors >= 2)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=blocked_app), base_url="http://testserver"
    ) as client:
        text = (await client.get("/metrics")).text
    assert "execution_monitor_writer_blocked 1.0" in text
    permanent = next(
        line
        for line in text.splitlines()
        if line.startswith("execution_monitor_permanent_errors_total")
    )
    assert float(permanent.split()[1]) >= 2
