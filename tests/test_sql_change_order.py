"""The change order without a global lock (log_batch_v5, executions_changed_since_v2):
writers run side by side, and a reader following a cursor gets every change once,
in an order that a writer committing late cannot break."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from langgraph_execution_monitor.storage import queries
from langgraph_execution_monitor.storage.queries import ChangePosition
from langgraph_execution_monitor.write_errors import WriteErrorKind, classify
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory
from tests.conftest import SEARCH_PATH
from tests.factories import finished, started, write

Change = tuple[ChangePosition, str, str]  # (position, execution id, status)


async def changes_after(db: asyncpg.Connection, after: ChangePosition) -> list[Change]:
    rows = await queries.executions_changed_since_v2(db, after, limit=10_000)
    return [(at, json.loads(data)["id"], json.loads(data)["status"]) for at, data in rows]


async def eventually(condition: Callable[[], Awaitable[bool]], timeout_s: float = 10) -> None:
    """Until `condition` holds (a transaction of autovacuum may hold the horizon a moment)."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def other(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A second writer's connection."""
    connection = await asyncpg.connect(database_url, server_settings=SEARCH_PATH)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def reader(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url, server_settings=SEARCH_PATH)
    try:
        yield connection
    finally:
        await connection.close()


async def test_a_change_committed_behind_an_open_writer_is_held_back_until_it_commits(
    db: asyncpg.Connection, other: asyncpg.Connection, reader: asyncpg.Connection
) -> None:
    first, second = started(conversation_id=None), started(conversation_id=None)
    transaction = other.transaction()
    await transaction.start()
    await write(other, first)  # the earlier transaction, still open
    await write(db, second)  # a later one, committed first

    assert await changes_after(reader, ChangePosition(0, 0)) == []

    await transaction.commit()

    async def both() -> bool:
        return len(await changes_after(reader, ChangePosition(0, 0))) == 2

    await eventually(both)
    ids = [e_id for _, e_id, _ in await changes_after(reader, ChangePosition(0, 0))]
    assert ids == [first.execution_id, second.execution_id]


async def test_a_reader_following_its_cursor_gets_every_change_once_whatever_the_commit_order(
    db: asyncpg.Connection, other: asyncpg.Connection, reader: asyncpg.Connection
) -> None:
    a, b, c = (started(conversation_id=None) for _ in range(3))
    cursor = ChangePosition(0, 0)
    delivered: list[Change] = []

    async def read() -> None:
        nonlocal cursor
        new = await changes_after(reader, cursor)
        delivered.extend(new)
        if new:
            cursor = new[-1][0]

    late = other.transaction()
    await late.start()
    await write(other, a)  # open: everything after it waits
    await read()
    await write(db, b)
    await read()
    await write(db, finished(b))
    await read()
    await write(other, finished(a))  # still the same open transaction
    await read()
    assert delivered == []
    await late.commit()
    await read()
    await write(db, c)

    async def caught_up() -> bool:
        await read()
        return c.execution_id in {e_id for _, e_id, _ in delivered}

    await eventually(caught_up)

    positions = [at for at, _, _ in delivered]
    assert positions == sorted(set(positions)), "a change came twice or out of order"
    latest = {e_id: status for _, e_id, status in delivered}
    table = dict(await db.fetch("SELECT id, status FROM execution_logs"))
    assert latest == table
    # A client resuming from any cursor it was given gets exactly what followed it.
    everything = await changes_after(reader, ChangePosition(0, 0))
    for i, (at, _, _) in enumerate(everything):
        assert await changes_after(reader, at) == everything[i + 1 :]


async def test_a_session_left_open_after_a_write_does_not_stall_other_writers(
    db: asyncpg.Connection, other: asyncpg.Connection
) -> None:
    transaction = other.transaction()
    await transaction.start()
    await other.execute("SELECT log_start('left-open', 'someone', 'hi')")
    try:
        run = started(conversation_id=None)
        began = time.perf_counter()
        await asyncio.wait_for(write(db, run, finished(run)), timeout=5)
        elapsed_s = time.perf_counter() - began
    finally:
        await transaction.rollback()

    assert elapsed_s < 1.0
    assert await db.fetchval("SELECT status FROM execution_logs WHERE id = $1", run.execution_id)


async def test_a_writer_waiting_for_a_row_gives_up_fast_with_a_transient_error(
    db: asyncpg.Connection, other: asyncpg.Connection
) -> None:
    run = started(conversation_id=None)
    transaction = other.transaction()
    await transaction.start()
    await write(other, run)  # holds the run's row
    try:
        began = time.perf_counter()
        with pytest.raises(asyncpg.LockNotAvailableError) as refused:
            await asyncio.wait_for(write(db, finished(run)), timeout=10)
        waited_s = time.perf_counter() - began
    finally:
        await transaction.rollback()

    assert waited_s < 4.0  # lock_timeout is 2 s
    assert refused.value.sqlstate == "55P03"
    assert classify(refused.value) is WriteErrorKind.TRANSIENT


async def test_the_writer_retries_a_batch_that_hit_the_lock_timeout(
    database_url: str, db: asyncpg.Connection, other: asyncpg.Connection
) -> None:
    run = started(conversation_id=None)
    await write(db, run)
    transaction = other.transaction()
    await transaction.start()
    await other.execute("SELECT 1 FROM execution_logs WHERE id = $1 FOR UPDATE", run.execution_id)
    writer = LogWriter(
        writer_pool_factory(database_url, 2), stale_after_s=None, retry_max_backoff_s=0.2
    )
    writer.start()
    try:
        writer.enqueue(finished(run))

        async def retried() -> bool:
            return writer.stats.retries >= 1

        await eventually(retried, timeout_s=15)
        await transaction.rollback()

        async def written() -> bool:
            return writer.stats.written == 1

        await eventually(written, timeout_s=15)
    finally:
        await writer.stop(5)

    assert "55P03" in (writer.stats.last_error or "")
    assert writer.stats.failed_to_log == 0
    status = await db.fetchval("SELECT status FROM execution_logs WHERE id = $1", run.execution_id)
    assert status == "completed"


async def test_a_transaction_open_in_another_database_holds_nothing_back(
    db: asyncpg.Connection, reader: asyncpg.Connection, server_url: str
) -> None:
    elsewhere = await asyncpg.connect(server_url)
    try:
        transaction = elsewhere.transaction()
        await transaction.start()
        await elsewhere.execute("SELECT pg_current_xact_id()")  # it has an id, and runs on
        run = started(conversation_id=None)
        await write(db, run)

        async def delivered() -> bool:
            return len(await changes_after(reader, ChangePosition(0, 0))) == 1

        await eventually(delivered)
        await transaction.rollback()
    finally:
        await elsewhere.close()


async def test_a_transaction_open_in_this_database_holds_later_changes_back(
    db: asyncpg.Connection, other: asyncpg.Connection, reader: asyncpg.Connection
) -> None:
    transaction = other.transaction()
    await transaction.start()
    await other.execute("SELECT pg_current_xact_id()")  # it could still write a change
    await write(db, started(conversation_id=None))

    held_back = await changes_after(reader, ChangePosition(0, 0))
    await transaction.rollback()

    assert held_back == []
