"""Time partitions and retention: execution_logs is partitioned by UTC day; the
maintenance function makes days ahead and drops those past the retention (their rows
with them, the rollups untouched), prunes rollups past their own retention; rows of
any time are stored; lookups by id find UUIDv7 and other ids; the conversion of an
existing table keeps every row, and so does the way back."""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from langgraph_execution_monitor.capture.ids import new_execution_id
from langgraph_execution_monitor.storage.migrate import dbmate, migrate, migrations_dir
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory
from tests.conftest import SEARCH_PATH, create_database
from tests.factories import finished, started, write

DAY_S = 86400.0
FIRST_PARTITIONING_MIGRATION = "20261207000200"
PARTITIONING_MIGRATIONS = [
    path
    for path in sorted(migrations_dir().glob("*.sql"))
    if path.name[:14] >= FIRST_PARTITIONING_MIGRATION
]
FAR_PAST = datetime(1990, 1, 1, tzinfo=UTC).timestamp()
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC).timestamp()


def day_partition(ago_days: float) -> str:
    day = datetime.now(UTC) - timedelta(days=ago_days)
    return f"execution_logs_p{day:%Y%m%d}"


async def partitions(db: asyncpg.Connection) -> set[str]:
    return {
        row[0]
        for row in await db.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'execution_monitor.execution_logs'::regclass"
        )
    }


async def rows(db: asyncpg.Connection) -> list[str]:
    """Every row, whole, in id order."""
    return [
        row[0]
        for row in await db.fetch("SELECT to_jsonb(l)::text FROM execution_logs l ORDER BY id")
    ]


ROLLUP_KEYS = {
    "execution_rollups_hourly": ("hour",),
    "execution_durations_hourly": ("hour", "bucket"),
    "node_rollups_hourly": ("hour", "node"),
    "node_durations_hourly": ("hour", "node", "bucket"),
}


async def rollups(db: asyncpg.Connection) -> list[str]:
    """The four rollup tables as sums per key and column (deltas and compacted rows
    alike: what the reads add up), zero sums left out."""
    sums = []
    for table, keys in ROLLUP_KEYS.items():
        key = "jsonb_build_object(" + ", ".join(f"'{k}', r.j -> '{k}'" for k in keys) + ")"
        sums.append(
            await db.fetchval(
                f"""SELECT coalesce(jsonb_agg(jsonb_build_array(s.k, s.c, s.total)
                                              ORDER BY s.k::text, s.c), '[]')::text
                    FROM (SELECT {key} AS k, e.key AS c, sum(e.value::text::numeric) AS total
                          FROM (SELECT to_jsonb(t) AS j FROM {table} t) AS r,
                               jsonb_each(r.j) AS e
                          WHERE e.key <> ALL($1::text[]) AND jsonb_typeof(e.value) = 'number'
                          GROUP BY 1, 2
                          HAVING sum(e.value::text::numeric) <> 0) AS s""",
                list(keys),
            )
        )
    return sums


async def where(db: asyncpg.Connection, execution_id: str) -> str | None:
    """The partition holding a run's row."""
    return await db.fetchval(
        "SELECT tableoid::regclass::text FROM execution_logs WHERE id = $1", execution_id
    )


async def make_days(db: asyncpg.Connection, *ago_days: float) -> None:
    for ago in ago_days:
        await db.execute(
            "SELECT create_execution_logs_partition((now() - make_interval(secs => $1))::date)",
            ago * DAY_S,
        )


async def maintain(
    db: asyncpg.Connection, retention_days: int = 30, rollup_retention_days: int = 400
) -> dict:
    return json.loads(
        await db.fetchval(
            "SELECT maintain_execution_logs($1, $2)::text", retention_days, rollup_retention_days
        )
    )


def mixed_runs() -> list:
    """Runs of today, days back, far past and far future; finished and running."""
    today, back, old = started(), started(ago_s=3 * DAY_S), started(ago_s=20 * DAY_S)
    past = started(started_at=FAR_PAST, conversation_id="conv-past")
    future = started(started_at=FAR_FUTURE, conversation_id=None)
    running = started(new_execution_id(), ago_s=60)
    return [
        finished(today),
        finished(back, status="failed", failed_nodes=["data_checker"], error_summary="boom"),
        finished(old, status="partial", failed_nodes=["writer"]),
        past,
        finished(future),
        running,
    ]


async def test_the_table_is_partitioned_by_day_with_a_default_partition(
    db: asyncpg.Connection,
) -> None:
    kind, key = await db.fetchrow(
        "SELECT c.relkind::text, pg_get_partkeydef(c.oid) FROM pg_class c"
        " WHERE c.oid = 'execution_logs'::regclass"
    )
    assert (kind, key) == ("p", "RANGE (started_at)")
    assert "execution_logs_default" in await partitions(db)


async def test_converting_an_existing_table_keeps_every_row_and_the_rollups(
    server_url: str,
) -> None:
    url = await create_database(server_url)
    migrate(url)
    for _ in PARTITIONING_MIGRATIONS:
        dbmate(url, "rollback")
    db = await asyncpg.connect(url, server_settings=SEARCH_PATH)
    try:
        assert (
            await db.fetchval(
                "SELECT relkind::text FROM pg_class WHERE oid = 'execution_logs'::regclass"
            )
            == "r"
        )
        await write(db, *mixed_runs())
        before, rollups_before = await rows(db), await rollups(db)

        migrate(url)

        assert await rows(db) == before
        assert await rollups(db) == rollups_before
        assert {day_partition(0), day_partition(3), day_partition(20)} <= await partitions(db)
    finally:
        await db.close()


async def test_migrating_down_gives_back_a_plain_table_with_every_row(server_url: str) -> None:
    url = await create_database(server_url)
    migrate(url)
    db = await asyncpg.connect(url, server_settings=SEARCH_PATH)
    try:
        await make_days(db, 0, 3)
        await write(db, *mixed_runs())
        before, rollups_before = await rows(db), await rollups(db)

        for _ in PARTITIONING_MIGRATIONS:
            dbmate(url, "rollback")

        assert (
            await db.fetchval(
                "SELECT relkind::text FROM pg_class WHERE oid = 'execution_logs'::regclass"
            )
            == "r"
        )
        assert await rows(db) == before
        assert await rollups(db) == rollups_before
    finally:
        await db.close()


async def test_maintenance_makes_today_and_the_days_ahead(db: asyncpg.Connection) -> None:
    done = await maintain(db)

    ahead = {day_partition(-n) for n in range(4)}
    assert set(done["created"]) == ahead
    assert ahead <= await partitions(db)
    assert (await maintain(db))["created"] == []  # made once


async def test_rows_waiting_in_the_default_partition_move_into_their_new_day(
    db: asyncpg.Connection,
) -> None:
    start = started()
    await write(db, start)
    assert await where(db, start.execution_id) == "execution_logs_default"
    rollups_before = await rollups(db)

    await maintain(db)

    assert await where(db, start.execution_id) == day_partition(0)
    assert await db.fetchval("SELECT count(*) FROM execution_logs") == 1
    assert await rollups(db) == rollups_before


async def test_days_past_the_retention_are_dropped_with_their_rows(db: asyncpg.Connection) -> None:
    old, kept, today = started(ago_s=40 * DAY_S), started(ago_s=10 * DAY_S), started()
    await make_days(db, 40, 10, 0)
    await write(db, finished(old), finished(kept), today)

    done = await maintain(db, retention_days=30)

    assert done["dropped"] == [day_partition(40)]
    assert day_partition(40) not in await partitions(db)
    ids = {row[0] for row in await db.fetch("SELECT id FROM execution_logs")}
    assert ids == {kept.execution_id, today.execution_id}


async def test_a_drop_leaves_the_rollups_as_they_were(db: asyncpg.Connection) -> None:
    await make_days(db, 40, 10)
    old = started(ago_s=40 * DAY_S)
    await write(db, finished(old, status="failed", failed_nodes=["data_checker"]))
    await write(db, finished(started(ago_s=10 * DAY_S)))
    before = await rollups(db)

    await maintain(db, retention_days=30)

    assert await rollups(db) == before
    hours = await db.fetchval(
        "SELECT count(*) FROM execution_rollups_hourly WHERE hour < now() - interval '30 days'"
    )
    assert hours == 1  # the dropped day's runs still count in the stats


async def test_the_five_minute_node_rollups_go_with_the_days_dropped(
    db: asyncpg.Connection,
) -> None:
    await make_days(db, 40, 10)
    await write(db, finished(started(ago_s=40 * DAY_S)), finished(started(ago_s=10 * DAY_S)))

    await maintain(db, retention_days=30)

    oldest = await db.fetchval("SELECT min(slot) FROM node_entries_5min")
    assert oldest > datetime.now(UTC) - timedelta(days=11)
    kept_entries = await db.fetchval(
        "SELECT sum(jsonb_array_length(execution_trace)) FROM execution_logs"
    )
    assert await db.fetchval("SELECT sum(attempts) FROM node_entries_5min") == kept_entries > 0


async def test_rows_of_the_default_partition_past_the_retention_are_deleted(
    db: asyncpg.Connection,
) -> None:
    past, future = started(started_at=FAR_PAST), started(started_at=FAR_FUTURE)
    await write(db, past, future)

    done = await maintain(db, retention_days=30)

    assert done["default_rows_deleted"] == 1
    assert [row[0] for row in await db.fetch("SELECT id FROM execution_logs")] == [
        future.execution_id
    ]


async def test_rollups_past_their_own_retention_are_deleted(db: asyncpg.Connection) -> None:
    await make_days(db, 40, 5)
    await write(db, finished(started(ago_s=40 * DAY_S)), finished(started(ago_s=5 * DAY_S)))

    done = await maintain(db, retention_days=3, rollup_retention_days=30)

    assert done["rollup_rows_deleted"] > 0
    oldest = await db.fetchval("SELECT min(hour) FROM execution_rollups_hourly")
    assert oldest > datetime.now(UTC) - timedelta(days=30)
    assert await db.fetchval("SELECT sum(runs) FROM execution_rollups_hourly") == 1


async def test_the_rollups_retention_cannot_be_shorter_than_the_rows(
    db: asyncpg.Connection,
) -> None:
    try:
        await maintain(db, retention_days=30, rollup_retention_days=7)
    except asyncpg.InvalidParameterValueError as error:
        assert "at least the rows' (30 days)" in str(error)
    else:
        raise AssertionError("a rollup retention shorter than the rows' was accepted")


async def test_one_maintenance_works_at_a_time(db: asyncpg.Connection, database_url: str) -> None:
    other = await asyncpg.connect(database_url, server_settings=SEARCH_PATH)
    try:
        async with other.transaction():
            await other.fetchval("SELECT maintain_execution_logs()")  # holds its lock
            assert await maintain(db) == {"skipped": True}
        assert "created" in await maintain(db)
    finally:
        await other.close()


async def test_the_writer_role_may_run_the_maintenance(db: asyncpg.Connection) -> None:
    async with db.transaction():
        await db.execute("SET LOCAL ROLE execution_monitor_writer")
        assert day_partition(0) in (await maintain(db))["created"]


async def test_a_start_and_its_finish_in_different_batches_are_one_row(
    db: asyncpg.Connection,
) -> None:
    await make_days(db, 0)
    start = started(new_execution_id())
    await write(db, start)
    await write(db, finished(start))

    statuses = await db.fetch("SELECT status FROM execution_logs WHERE id = $1", start.execution_id)
    assert [row[0] for row in statuses] == ["completed"]


async def test_a_finish_after_its_day_partition_was_just_made_ends_the_run(
    db: asyncpg.Connection,
) -> None:
    start = started(new_execution_id())
    await write(db, start)  # no partition for today yet: the default partition
    await maintain(db)  # today's partition made, the start moved into it

    await write(db, finished(start, status="failed", error_summary="boom"))

    found = await db.fetch(
        "SELECT status, tableoid::regclass::text AS part FROM execution_logs WHERE id = $1",
        start.execution_id,
    )
    assert [(row["status"], row["part"]) for row in found] == [("failed", day_partition(0))]


async def test_starts_far_in_the_past_or_the_future_are_stored(db: asyncpg.Connection) -> None:
    past, future = started(started_at=FAR_PAST), started(started_at=FAR_FUTURE)
    await maintain(db)

    await write(db, past, finished(future))

    for run in (past, future):
        assert await where(db, run.execution_id) == "execution_logs_default"
        found = json.loads(await db.fetchval("SELECT get_execution($1)::text", run.execution_id))
        assert found["id"] == run.execution_id


async def test_get_by_id_finds_uuid7_and_any_other_id(db: asyncpg.Connection) -> None:
    await make_days(db, 0, 1, 2)
    runs = [
        started(new_execution_id()),  # the library's own: its time is its start
        started(str(uuid.uuid4())),  # LangChain's run_id
        started("my-own-id"),  # a caller's own
        # a UUIDv7 minted two days before its run started: not in its time's days
        started(new_execution_id(), ago_s=-2 * DAY_S + 60),
        started(new_execution_id(), ago_s=2 * DAY_S),  # and one the other way
    ]
    await write(db, *(finished(run) for run in runs))

    for run in runs:
        found = await db.fetchval("SELECT get_execution($1)::text", run.execution_id)
        assert found is not None, run.execution_id
        assert json.loads(found)["status"] == "completed"
    assert await db.fetchval("SELECT get_execution('no-such-id')") is None


async def test_the_time_of_a_uuid7_is_read_from_the_id(db: asyncpg.Connection) -> None:
    before = time.time()
    minted = new_execution_id()

    carried = await db.fetchval("SELECT extract(epoch FROM execution_id_time($1))", minted)

    assert before - 0.001 <= float(carried) <= time.time() + 0.001
    assert await db.fetchval("SELECT execution_id_time($1)", str(uuid.uuid4())) is None
    assert await db.fetchval("SELECT execution_id_time('my-own-id')") is None


async def test_the_writer_makes_the_partitions_when_it_starts(database_url: str) -> None:
    writer = LogWriter(writer_pool_factory(database_url, 2), flush_interval_s=0.01)
    writer.start()
    try:
        for _ in range(200):
            if writer.stats.partitions_created:
                break
            await asyncio.sleep(0.05)
        assert writer.stats.partitions_created == 4
        assert writer.stats.maintenance_errors == 0
    finally:
        await writer.stop(5)


async def test_writes_into_day_partitions_notify(db: asyncpg.Connection) -> None:
    await make_days(db, 0)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await db.add_listener("execution_events", lambda *args: heard.put_nowait(args[3]))
    start = started(new_execution_id())

    await write(db, start)
    await write(db, finished(start))

    payloads = [json.loads(await asyncio.wait_for(heard.get(), 5)) for _ in range(2)]
    assert [[event[:2] for event in payload] for payload in payloads] == [
        [[start.execution_id, "running"]],
        [[start.execution_id, "completed"]],
    ]


async def test_a_conversation_lists_its_runs_across_days_in_order(db: asyncpg.Connection) -> None:
    await make_days(db, 2, 0)
    turns = [
        started(conversation_id="conv-days", started_at=FAR_PAST),
        started(conversation_id="conv-days", ago_s=2 * DAY_S),
        started(new_execution_id(), conversation_id="conv-days"),
    ]
    await write(db, *(finished(turn) for turn in turns))

    listed = json.loads(await db.fetchval("SELECT list_conversation_executions('conv-days')::text"))

    assert listed["total"] == 3
    assert [log["id"] for log in listed["logs"]] == [turn.execution_id for turn in turns]
