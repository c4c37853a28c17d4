"""Stale runs: `running` rows older than an age are closed as failed."""

import asyncpg
import pytest

from langgraph_execution_monitor.storage import queries
from tests.factories import finished, started, write


async def test_old_running_rows_are_closed_as_failed(db: asyncpg.Connection) -> None:
    stale, fresh, done = started(ago_s=7200), started(ago_s=60), started(ago_s=7200)
    await write(db, stale, fresh, finished(done))

    assert await queries.close_stale_executions(db, 3600) == 1

    rows = {r["id"]: r for r in await db.fetch("SELECT * FROM execution_logs")}
    assert rows[stale.execution_id]["status"] == "failed"
    assert "still running after 01:00:00" in rows[stale.execution_id]["error_summary"]
    assert rows[stale.execution_id]["completed_at"] is not None
    assert rows[stale.execution_id]["total_duration_ms"] >= 7_200_000
    assert rows[fresh.execution_id]["status"] == "running"
    assert rows[done.execution_id]["status"] == "completed"


async def test_a_finish_arriving_after_the_close_does_not_reopen_it(db: asyncpg.Connection) -> None:
    stale = started(ago_s=7200)
    await write(db, stale)
    await queries.close_stale_executions(db, 3600)
    assert await write(db, finished(stale)) == 0


async def test_closing_needs_a_positive_age(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match="must be positive"):
        await queries.close_stale_executions(db, 0)
