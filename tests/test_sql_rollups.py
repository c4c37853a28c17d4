"""The hourly rollups kept by the write path: whatever the order, retries or concurrency
of the writes, they equal the rollups rebuilt from the rows."""

import asyncio
import json
import random
import time
import uuid

import asyncpg

from langgraph_execution_monitor.storage import queries
from langgraph_execution_monitor.storage.migrate import dbmate, migrate, migrations_dir
from tests.conftest import SEARCH_PATH, create_database
from tests.factories import finished, started, write, write_shuffled, write_v3

FIRST_ROLLUP_MIGRATION = "20261202000200_rollup_tables.sql"
ROLLUP_TABLES = {
    "execution_rollups_hourly": "hour",
    "execution_durations_hourly": "hour, bucket",
    "node_rollups_hourly": "hour, node",
    "node_durations_hourly": "hour, node, bucket",
    "node_entries_5min": "slot, node, bucket",
}


async def rollups(db: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """The rollup tables' rows with something counted, in key order (the writes'
    deltas folded first: one row per key)."""
    await db.execute("SELECT compact_rollups()")
    out = {}
    for table, key in ROLLUP_TABLES.items():
        counted = "runs" if "execution" in table else "attempts"
        extra = {
            "node_rollups_hourly": " OR failed_runs <> 0",
            "node_entries_5min": " OR failed_attempts <> 0 OR duration_ms_sum <> 0",
        }.get(table, "")
        out[table] = await db.fetch(
            f"SELECT * FROM {table} WHERE {counted} <> 0{extra} ORDER BY {key}"
        )
    return out


async def assert_rollups_match_a_rebuild(db: asyncpg.Connection) -> None:
    kept = await rollups(db)
    await db.execute("SELECT rebuild_rollups()")
    assert kept == await rollups(db)


async def test_rollups_equal_a_rebuild_after_shuffled_and_retried_batches(
    db: asyncpg.Connection,
) -> None:
    await write_shuffled(db, random.Random(7), 300)
    assert (await rollups(db))["node_durations_hourly"]
    await assert_rollups_match_a_rebuild(db)


async def test_a_retried_batch_counts_once(db: asyncpg.Connection) -> None:
    run = started()
    events = [run, finished(run, status="failed", failed_nodes=["data_checker"])]
    await write(db, *events)
    before = await rollups(db)
    await write(db, *events)
    await write(db, events[1])
    await write(db, events[0])
    assert await rollups(db) == before
    result = json.loads(await queries.execution_stats(db, 24))
    assert (result["total_executions"], result["by_status"]["failed"]) == (1, 1)
    assert result["failed_nodes_breakdown"] == {"data_checker": 1}


async def test_a_finish_before_its_start_counts_once(db: asyncpg.Connection) -> None:
    run = started()
    await write(db, finished(run))
    await write(db, run)
    result = json.loads(await queries.execution_stats(db, 24))
    assert result["by_status"] == {
        "completed": 1,
        "failed": 0,
        "partial": 0,
        "running": 0,
        "interrupted": 0,
    }
    await assert_rollups_match_a_rebuild(db)


async def test_a_batch_of_starts_alone_counts_them_running_in_their_hours(
    db: asyncpg.Connection,
) -> None:
    runs = [started(ago_s=0), started(ago_s=60), started(ago_s=2 * 3600)]
    await write(db, *runs)
    result = json.loads(await queries.execution_stats(db, 24))
    assert (result["total_executions"], result["by_status"]["running"]) == (3, 3)
    await assert_rollups_match_a_rebuild(db)
    await write(db, *(finished(run) for run in runs))
    result = json.loads(await queries.execution_stats(db, 24))
    assert (result["by_status"]["running"], result["by_status"]["completed"]) == (0, 3)
    await assert_rollups_match_a_rebuild(db)


async def test_a_real_finish_replaces_a_stale_close_in_the_rollups(db: asyncpg.Connection) -> None:
    run = started(ago_s=2 * 3600)
    await write(db, run)
    assert await db.fetchval("SELECT close_stale_executions(interval '1 hour')") == 1
    assert json.loads(await queries.execution_stats(db, 24))["by_status"]["failed"] == 1
    await write(db, finished(run, status="partial", failed_nodes=["writer"]))
    result = json.loads(await queries.execution_stats(db, 24))
    assert (result["by_status"]["failed"], result["by_status"]["partial"]) == (0, 1)
    assert result["failed_nodes_breakdown"] == {"writer": 1}
    await assert_rollups_match_a_rebuild(db)


async def test_a_real_finish_in_the_stale_closes_duration_bucket_moves_the_duration_sum(
    db: asyncpg.Connection,
) -> None:
    # The stale close lasted about two hours; the real finish a few seconds less, in
    # the same histogram bucket: the bucket's count nets to zero, its sum does not.
    run = started(ago_s=2 * 3600)
    await write(db, run)
    assert await db.fetchval("SELECT close_stale_executions(interval '1 hour')") == 1
    await write(db, finished(run, duration_s=2 * 3600 - 5))
    closed, real = await db.fetchrow("SELECT duration_bucket(7200000), duration_bucket(7195000)")
    assert closed == real
    await assert_rollups_match_a_rebuild(db)


async def test_two_writer_connections_on_the_same_run_count_it_once(database_url: str) -> None:
    first = await asyncpg.connect(database_url, server_settings=SEARCH_PATH)
    second = await asyncpg.connect(database_url, server_settings=SEARCH_PATH)
    try:
        runs = [started() for _ in range(20)]
        transaction = first.transaction()
        await transaction.start()
        await write(first, *runs)  # not committed yet: the second writer waits for it
        finishing = asyncio.ensure_future(write(second, *[finished(r) for r in runs]))
        await asyncio.sleep(0.3)
        assert not finishing.done()
        await transaction.commit()
        assert await finishing == 20
        result = json.loads(await queries.execution_stats(second, 24))
        assert (result["total_executions"], result["by_status"]["completed"]) == (20, 20)
        await assert_rollups_match_a_rebuild(second)
    finally:
        await first.close()
        await second.close()


async def test_deleted_and_truncated_rows_leave_the_rollups(db: asyncpg.Connection) -> None:
    await write_shuffled(db, random.Random(3), 60)
    await db.execute("DELETE FROM execution_logs WHERE status = 'completed'")
    await assert_rollups_match_a_rebuild(db)
    await db.execute("TRUNCATE execution_logs")
    assert all(not rows for rows in (await rollups(db)).values())


async def test_the_backfill_migration_rolls_up_rows_written_before_it(server_url: str) -> None:
    url = await create_database(server_url)
    migrate(url)
    since_rollups = [m for m in migrations_dir().glob("*.sql") if m.name >= FIRST_ROLLUP_MIGRATION]
    for _ in since_rollups:  # back to before the rollups, whatever came after them
        dbmate(url, "rollback")
    db = await asyncpg.connect(url, server_settings=SEARCH_PATH)
    try:
        assert await db.fetchval("SELECT to_regclass('execution_rollups_hourly')") is None
        await write_shuffled(db, random.Random(11), 80, write_v3)  # as a writer then did
        exact = await db.fetchval("SELECT count(*) FROM execution_logs")
        migrate(url)
        kept = await rollups(db)
        assert sum(r["runs"] for r in kept["execution_rollups_hourly"]) == exact
        await assert_rollups_match_a_rebuild(db)
    finally:
        await db.close()


async def test_rebuild_counts_every_row(db: asyncpg.Connection) -> None:
    run = started(execution_id=str(uuid.uuid4()), started_at=time.time() - 90_000)
    await write(db, run, started())
    assert await db.fetchval("SELECT rebuild_rollups()") == 2
