"""Write side: log_batch, log_start and log_finish are idempotent and
order-independent, and a start with its finish in one batch is one INSERT."""

import asyncio
import json

import asyncpg
import pytest

from langgraph_execution_monitor.rows import TextCleaner, batch_columns
from langgraph_execution_monitor.storage import queries
from tests.factories import finished, started, write, write_v4


async def fetch_row(db: asyncpg.Connection, execution_id: str) -> asyncpg.Record:
    return await db.fetchrow(
        "SELECT *, xmin::text AS version FROM execution_logs WHERE id = $1", execution_id
    )


async def test_a_start_creates_a_running_row(db: asyncpg.Connection) -> None:
    start = started(request_message="hello")
    assert await write(db, start) == 1
    row = await fetch_row(db, start.execution_id)
    assert row["status"] == "running"
    assert row["request_message"] == "hello"
    assert row["completed_at"] is None
    assert row["total_duration_ms"] is None
    assert json.loads(row["failed_nodes"]) == []


async def test_a_finish_after_its_start_completes_the_row(db: asyncpg.Connection) -> None:
    start = started()
    await write(db, start)
    await write(
        db,
        finished(
            start,
            status="partial",
            duration_s=1.5,
            failed_nodes=["data_checker"],
            error_summary="boom",
        ),
    )
    row = await fetch_row(db, start.execution_id)
    assert row["status"] == "partial"
    assert row["total_duration_ms"] == 1500
    assert json.loads(row["failed_nodes"]) == ["data_checker"]
    assert row["error_summary"] == "boom"
    trace = json.loads(row["execution_trace"])
    assert [entry["node"] for entry in trace] == [
        "guardrail_check",
        "intent_classifier",
        "data_checker",
    ]
    assert trace[0]["timestamp"].endswith("Z")


async def test_start_and_finish_in_one_batch_are_one_insert_and_no_update(
    db: asyncpg.Connection,
) -> None:
    start = started()
    async with db.transaction():
        assert await write(db, start, finished(start)) == 1
        inserted, updated = await db.fetchrow(
            # the table's partitions hold the counts (a plain table: itself)
            "SELECT sum(n_tup_ins), sum(n_tup_upd) FROM pg_stat_xact_user_tables"
            " WHERE relid IN (SELECT relid FROM pg_partition_tree('execution_logs'))"
        )
    assert (inserted, updated) == (1, 0)
    assert (await fetch_row(db, start.execution_id))["status"] == "completed"


async def test_the_finish_wins_whatever_its_place_in_the_batch(db: asyncpg.Connection) -> None:
    start = started()
    await write(db, finished(start), start)
    assert (await fetch_row(db, start.execution_id))["status"] == "completed"


async def test_a_retried_batch_changes_nothing(db: asyncpg.Connection) -> None:
    first, second = started(), started()
    batch = [first, finished(first), second]
    assert await write(db, *batch) == 2
    before = [await fetch_row(db, s.execution_id) for s in (first, second)]
    assert await write(db, *batch) == 0
    after = [await fetch_row(db, s.execution_id) for s in (first, second)]
    assert before == after


async def test_a_finish_without_its_start_makes_a_complete_row(db: asyncpg.Connection) -> None:
    start = started(user_id="u9", request_message="only the finish arrived")
    await write(db, finished(start, status="failed", response_message=None, error_summary="x"))
    row = await fetch_row(db, start.execution_id)
    assert (row["status"], row["user_id"], row["request_message"]) == (
        "failed",
        "u9",
        "only the finish arrived",
    )
    assert row["total_duration_ms"] == 250


async def test_a_late_start_never_overwrites_a_finish(db: asyncpg.Connection) -> None:
    start = started()
    await write(db, finished(start))
    before = await fetch_row(db, start.execution_id)
    assert await write(db, start) == 0
    assert await fetch_row(db, start.execution_id) == before


async def test_a_repeated_finish_never_overwrites_the_first(db: asyncpg.Connection) -> None:
    start = started()
    await write(db, finished(start, status="completed", response_message="first"))
    assert await write(db, finished(start, status="failed", response_message="second")) == 0
    row = await fetch_row(db, start.execution_id)
    assert (row["status"], row["response_message"]) == ("completed", "first")


async def test_logging_a_run_creates_its_conversation(db: asyncpg.Connection) -> None:
    await write(db, started(conversation_id="conv-new", user_id="u1"))
    assert await db.fetchval("SELECT user_id FROM conversations WHERE id = 'conv-new'") == "u1"


async def test_deleting_a_conversation_deletes_its_executions(db: asyncpg.Connection) -> None:
    await write(db, started(conversation_id="conv-gone"), started(conversation_id="conv-kept"))
    await db.execute("DELETE FROM conversations WHERE id = 'conv-gone'")
    assert await db.fetchval("SELECT array_agg(conversation_id) FROM execution_logs") == [
        "conv-kept"
    ]


async def test_a_run_without_conversation_is_logged(db: asyncpg.Connection) -> None:
    start = started(conversation_id=None)
    await write(db, start)
    assert (await fetch_row(db, start.execution_id))["conversation_id"] is None


async def test_log_start_and_log_finish_work_from_sql(db: asyncpg.Connection) -> None:
    await db.execute("SELECT log_start('exec-1', 'user-1', 'hi', 'conv-sql')")
    await db.execute(
        """SELECT log_finish('exec-1', 'failed', 'user-1', 'hi', now() - interval '2 seconds',
                             p_failed_nodes => '["data_checker"]',
                             p_error_summary => 'boom')"""
    )
    row = await fetch_row(db, "exec-1")
    assert (row["status"], row["error_summary"], row["conversation_id"]) == (
        "failed",
        "boom",
        "conv-sql",
    )
    assert 1900 <= row["total_duration_ms"] <= 2100


async def test_log_finish_refuses_an_unknown_status(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match="status must be"):
        await db.execute("SELECT log_finish('exec-1', 'done', 'u', 'hi', now())")


async def test_log_start_refuses_a_start_with_no_user_naming_it(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.NullValueNotAllowedError, match=r"id exec-1\): no user_id"):
        await db.execute("SELECT log_start('exec-1', NULL, 'hi')")


async def test_log_finish_records_an_interrupted_turn(db: asyncpg.Connection) -> None:
    await db.execute("SELECT log_start('exec-1', 'u', 'hi')")
    assert (
        await db.fetchval(
            "SELECT log_finish('exec-1', 'interrupted', 'u', 'hi', now() - interval '1 second')"
        )
        == 1
    )
    assert (await fetch_row(db, "exec-1"))["status"] == "interrupted"


async def test_log_finish_replaces_a_stale_close(db: asyncpg.Connection) -> None:
    await db.execute(
        "SELECT log_start('exec-1', 'u', 'hi', p_started_at => now() - interval '2 hours')"
    )
    assert await queries.close_stale_executions(db, 3600) == 1

    await db.execute(
        "SELECT log_finish('exec-1', 'completed', 'u', 'hi', now() - interval '2 hours', 'done')"
    )

    row = await fetch_row(db, "exec-1")
    assert (row["status"], row["response_message"]) == ("completed", "done")
    assert row["stale_close_replaced_at"] is not None


async def test_the_table_refuses_an_unknown_status(db: asyncpg.Connection) -> None:
    start = started()
    columns, _ = batch_columns([finished(start, status="exploded")], TextCleaner(65_536))
    with pytest.raises(asyncpg.CheckViolationError):
        await queries.log_batch_v2(db, columns)  # the previous release's, unchecked


async def test_the_previous_releases_writers_still_take_turns_so_change_seq_grows_in_commit_order(
    db: asyncpg.Connection, database_url: str
) -> None:
    # log_batch_v4 and older keep the global lock for a rolling deploy (log_batch_v5,
    # without it, is specified in test_sql_change_order.py).
    first, second = started(), started()
    other = await asyncpg.connect(database_url)
    try:
        transaction = db.transaction()
        await transaction.start()
        await write_v4(db, first)  # holds the writers' turn until it commits

        waiting = asyncio.create_task(write_v4(other, second))
        for _ in range(500):
            blocked = await db.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            if blocked:
                break
            await asyncio.sleep(0.01)
        assert blocked == 1
        assert not waiting.done()

        await transaction.commit()
        await waiting
        seqs = await db.fetch("SELECT id, change_seq FROM execution_logs ORDER BY change_seq")
        assert [row["id"] for row in seqs] == [first.execution_id, second.execution_id]
    finally:
        await other.close()
