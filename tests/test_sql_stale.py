"""Stale runs: `running` rows older than an age, with no recent heartbeat of their
process, are closed as failed, marked so; a real finish arriving later replaces the
close (log_batch_v3), counted."""

import asyncpg
import pytest

from langgraph_execution_monitor.rows import TextCleaner, batch_columns
from langgraph_execution_monitor.storage import queries
from tests.factories import finished, started, write


async def test_old_running_rows_are_closed_as_failed(db: asyncpg.Connection) -> None:
    stale, fresh, done = started(ago_s=7200), started(ago_s=60), started(ago_s=7200)
    await write(db, stale, fresh, finished(done))

    assert await queries.close_stale_executions(db, 3600) == 1

    rows = {r["id"]: r for r in await db.fetch("SELECT * FROM execution_logs")}
    assert rows[stale.execution_id]["status"] == "failed"
    assert "no sign of its process for 01:00:00" in rows[stale.execution_id]["error_summary"]
    assert rows[stale.execution_id]["closed_stale_at"] is not None
    assert rows[stale.execution_id]["completed_at"] is not None
    assert rows[stale.execution_id]["total_duration_ms"] >= 7_200_000
    assert rows[fresh.execution_id]["status"] == "running"
    assert rows[done.execution_id]["status"] == "completed"


async def test_a_real_finish_after_the_close_replaces_it_and_is_counted(
    db: asyncpg.Connection,
) -> None:
    stale = started(ago_s=7200)
    await write(db, stale)
    await queries.close_stale_executions(db, 3600)
    columns, _ = batch_columns([finished(stale, duration_s=7000)], TextCleaner(65_536))

    assert await queries.log_batch_v3(db, columns) == (1, 1)

    row = await db.fetchrow("SELECT * FROM execution_logs WHERE id = $1", stale.execution_id)
    assert (row["status"], row["response_message"], row["error_summary"]) == (
        "completed",
        "Here is your post",
        None,
    )
    assert row["total_duration_ms"] == 7_000_000
    assert row["closed_stale_at"] is not None and row["stale_close_replaced_at"] is not None


async def test_a_stale_close_is_replaced_once_and_a_repeated_finish_changes_nothing(
    db: asyncpg.Connection,
) -> None:
    stale = started(ago_s=7200)
    await write(db, stale)
    await queries.close_stale_executions(db, 3600)
    columns, _ = batch_columns([finished(stale)], TextCleaner(65_536))
    assert await queries.log_batch_v3(db, columns) == (1, 1)
    assert await queries.log_batch_v3(db, columns) == (0, 0)


async def test_the_previous_releases_log_batch_v2_leaves_a_stale_close_as_it_is(
    db: asyncpg.Connection,
) -> None:
    stale = started(ago_s=7200)
    await write(db, stale)
    await queries.close_stale_executions(db, 3600)
    columns, _ = batch_columns([finished(stale)], TextCleaner(65_536))
    assert await queries.log_batch_v2(db, columns) == 0
    status = await db.fetchval(
        "SELECT status FROM execution_logs WHERE id = $1", stale.execution_id
    )
    assert status == "failed"


async def test_a_run_with_a_recent_heartbeat_is_not_closed_however_old(
    db: asyncpg.Connection,
) -> None:
    alive, abandoned = started(ago_s=7200), started(ago_s=7200)
    await write(db, alive, abandoned)
    assert await queries.heartbeat_executions(db, [alive.execution_id]) == 1

    assert await queries.close_stale_executions(db, 3600) == 1

    rows = dict(await db.fetch("SELECT id, status FROM execution_logs"))
    assert rows == {alive.execution_id: "running", abandoned.execution_id: "failed"}


async def test_a_run_whose_heartbeat_is_older_than_the_threshold_is_closed(
    db: asyncpg.Connection,
) -> None:
    run = started(ago_s=7200)
    await write(db, run)
    await queries.heartbeat_executions(db, [run.execution_id])
    await db.execute("UPDATE execution_heartbeats SET last_seen_at = now() - interval '61 minutes'")

    assert await queries.close_stale_executions(db, 3600) == 1
    # Its stamp is gone with it: the table holds live runs only.
    assert await db.fetchval("SELECT count(*) FROM execution_heartbeats") == 0


async def test_the_sweep_removes_the_stamps_of_finished_runs(db: asyncpg.Connection) -> None:
    done, live = started(ago_s=60), started(ago_s=60)
    await write(db, done, live)
    await queries.heartbeat_executions(db, [done.execution_id, live.execution_id])
    await write(db, finished(done))

    assert await queries.close_stale_executions(db, 3600) == 0
    stamped = await db.fetch("SELECT execution_id FROM execution_heartbeats")
    assert [r[0] for r in stamped] == [live.execution_id]


async def test_closing_needs_a_positive_age(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match="must be positive"):
        await queries.close_stale_executions(db, 0)
