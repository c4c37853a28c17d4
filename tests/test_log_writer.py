"""The background writer against a real database: batching, cleaning, bounds,
isolation of a refused event, shutdown, death and restart, stale runs, counters.

Faults of the database itself (stopped, connection killed) are in
test_writer_faults.py."""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from langgraph_execution_monitor.events import ExecutionFinished, ExecutionStarted
from langgraph_execution_monitor.rows import event_size
from langgraph_execution_monitor.storage import queries
from langgraph_execution_monitor.writer import (
    CONVERT_PACE_S,
    CONVERT_SLICE,
    PACE_BELOW,
    LogWriter,
    writer_pool_factory,
)
from tests.factories import finished, started, write

MakeWriter = Callable[..., LogWriter]


@pytest.fixture
async def make_writer(database_url: str) -> AsyncIterator[MakeWriter]:
    """Writers on this test's database (quick to flush, no stale check unless
    asked), all stopped at the end of the test."""
    writers: list[LogWriter] = []

    def make(pool_factory: Any = None, start: bool = True, **options: Any) -> LogWriter:
        options = {
            "flush_interval_s": 0.01,
            "retry_max_backoff_s": 0.2,
            "stale_after_s": None,
            "partition_maintenance_interval_s": None,  # tests write runs of any age: no retention
            **options,
        }
        writer = LogWriter(pool_factory or writer_pool_factory(database_url, 2), **options)
        writers.append(writer)
        if start:
            writer.start()
        return writer

    yield make
    for writer in writers:
        # The test is over: a writer whose database is down or blocked cannot
        # drain, and what one has not written by now is of no interest.
        await writer.stop(0.2)


async def eventually(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def database_down() -> asyncpg.Pool:
    raise ConnectionRefusedError("database down (simulated)")


async def row(db: asyncpg.Connection, execution_id: str) -> asyncpg.Record:
    return await db.fetchrow("SELECT * FROM execution_logs WHERE id = $1", execution_id)


def runs(count: int) -> list[tuple[ExecutionStarted, ExecutionFinished]]:
    return [(start, finished(start)) for start in (started() for _ in range(count))]


async def test_events_are_written_in_batches_of_at_most_batch_size(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer(batch_size=10, start=False)
    pairs = runs(25)
    for start, _ in pairs:
        writer.enqueue(start)
    writer.start()
    await eventually(lambda: writer.stats.written == 25)
    for _, finish in pairs:
        writer.enqueue(finish)
    await eventually(lambda: writer.stats.written == 50)
    # 25 starts and 25 finishes, 10 per batch at most, sharded over 2 connections.
    assert 6 <= writer.stats.batches <= 12
    statuses = await db.fetch("SELECT status, count(*) FROM execution_logs GROUP BY status")
    assert [(r["status"], r["count"]) for r in statuses] == [("completed", 25)]


async def test_a_full_batch_is_written_without_waiting_for_the_flush_interval(
    make_writer: MakeWriter,
) -> None:
    writer = make_writer(batch_size=10, flush_interval_s=30)
    await asyncio.sleep(0.05)  # the writer is waiting for a batch
    for start, _ in runs(10):
        writer.enqueue(start)
    await eventually(lambda: writer.stats.written == 10, timeout_s=10)


async def test_a_partial_batch_is_written_after_the_flush_interval(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer(batch_size=1000, flush_interval_s=0.1)
    start = started()
    writer.enqueue(start)
    await eventually(lambda: writer.stats.written == 1)
    assert (await row(db, start.execution_id))["status"] == "running"


async def test_nul_bytes_and_lone_surrogates_are_cleaned_and_the_row_written(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer()
    start = started(request_message="hello\x00world \ud800!")
    trace = [{"node": "data\x00checker", "status": "failed", "error": "bad \udfff byte"}]
    writer.enqueue(
        finished(
            start,
            status="failed",
            response_message="nul\x00",
            trace=trace,
            failed_nodes=["data\x00checker"],
            error_summary="bad \udfff byte",
        )
    )
    await eventually(lambda: writer.stats.written == 1)
    stored = await row(db, start.execution_id)
    assert stored["request_message"] == "hello\ufffdworld ?!"
    assert stored["response_message"] == "nul\ufffd"
    assert stored["error_summary"] == "bad ? byte"
    assert json.loads(stored["failed_nodes"]) == ["data\ufffdchecker"]
    entry = json.loads(stored["execution_trace"])[0]
    assert entry["node"] == "data\ufffdchecker"
    assert entry["error"] == "bad ? byte"
    assert writer.stats.failed_to_log == 0


async def test_a_10_mb_message_is_truncated_with_a_visible_marker(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer(max_text_chars=1000)
    huge = "x" * 10_000_000
    start = started(request_message=huge)
    trace = [{"node": "response_writer", "status": "failed", "error": huge}]
    writer.enqueue(finished(start, response_message=huge, trace=trace, error_summary=huge))
    await eventually(lambda: writer.stats.written == 1)
    stored = await row(db, start.execution_id)
    marker = "… [truncated 9999000 characters]"
    for text in (
        stored["request_message"],
        stored["response_message"],
        stored["error_summary"],
        json.loads(stored["execution_trace"])[0]["error"],
    ):
        assert text == "x" * 1000 + marker


async def test_a_large_trace_is_compressed_with_lz4_where_the_server_has_it(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    has_lz4 = await db.fetchval(
        "SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    )
    writer = make_writer()
    start = started()
    # Outputs that do not repeat much: over the 2 kB from which PostgreSQL compresses.
    trace = [
        {"node": f"node-{i}", "status": "completed", "output": {"text": f"{i * 7919:x}" * 40}}
        for i in range(20)
    ]
    writer.enqueue(finished(start, trace=trace))
    await eventually(lambda: writer.stats.written == 1)

    method = await db.fetchval(
        "SELECT pg_column_compression(execution_trace) FROM execution_logs WHERE id = $1",
        start.execution_id,
    )
    assert method == ("lz4" if has_lz4 else "pglz")


async def test_values_that_are_not_json_are_stored_as_json_never_as_a_repr(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque state>"

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    writer = make_writer()
    start = started()
    trace = [
        {
            "node": "data_checker",
            "status": "completed",
            "state": Opaque(),
            "platforms": {"linkedin"},
            "broken": Broken(),
            "execution_time_ms": float("nan"),
            7: "a non-text key",
        }
    ]
    writer.enqueue(finished(start, trace=trace))
    await eventually(lambda: writer.stats.written == 1)
    entry = json.loads((await row(db, start.execution_id))["execution_trace"])[0]
    assert entry["state"] == {"type": Opaque.__qualname__}
    assert entry["platforms"] == ["linkedin"]
    assert entry["broken"] == {"type": Broken.__qualname__}
    assert entry["execution_time_ms"] is None
    assert entry["7"] == "a non-text key"


async def test_trace_timestamps_are_stored_as_iso_8601_utc_with_milliseconds(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer()
    start = started(started_at=1_780_000_000.0)
    trace = [
        {
            "node": "guardrail_check",
            "status": "completed",
            "timestamp": 1_780_000_000.1204,
            "started_at": 1_780_000_000.0,
        }
    ]
    writer.enqueue(finished(start, trace=trace))
    await eventually(lambda: writer.stats.written == 1)
    entry = json.loads((await row(db, start.execution_id))["execution_trace"])[0]
    assert entry["timestamp"] == "2026-05-28T20:26:40.120Z"
    assert entry["started_at"] == "2026-05-28T20:26:40.000Z"


async def test_an_event_the_database_refuses_is_isolated_and_the_rest_of_its_batch_written(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer(start=False)
    good = [started() for _ in range(9)]
    # ids are VARCHAR(255): PostgreSQL refuses this one (22001, string too long).
    bad = started("x" * 300)
    events = [*good[:4], bad, *good[4:]]
    for event in events:
        writer.enqueue(event)
    writer.start()
    await eventually(lambda: writer.stats.written + writer.stats.failed_to_log == 10)
    assert writer.stats.failed_to_log == 1
    assert writer.stats.written == 9
    assert "22001" in (writer.stats.last_error or "") or "too long" in (
        writer.stats.last_error or ""
    )
    ids = {r["id"] for r in await db.fetch("SELECT id FROM execution_logs")}
    assert ids == {event.execution_id for event in good}


async def test_an_event_that_cannot_be_converted_is_counted_as_failed_to_log(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer(start=False)
    good = started()
    writer.enqueue(good._replace())
    writer.enqueue(started()._replace(started_at="not a time"))  # type: ignore[arg-type]
    writer.enqueue({"not": "an event"})  # type: ignore[arg-type]
    writer.start()
    await eventually(lambda: writer.stats.written + writer.stats.failed_to_log == 3)
    assert (writer.stats.written, writer.stats.failed_to_log) == (1, 2)
    assert await db.fetchval("SELECT count(*) FROM execution_logs") == 1


async def test_a_retry_after_a_connection_error_does_not_write_or_count_anything_twice(
    make_writer: MakeWriter, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_log_batch = queries.log_batch_v5
    calls: list[int] = []

    async def log_batch_failing_once_mid_split(pool: Any, events: str) -> tuple[int, int]:
        calls.append(len(json.loads(events)))
        if len(calls) == 3:  # whole batch refused, first half written, then this
            raise ConnectionResetError("connection lost (simulated)")
        return await real_log_batch(pool, events)

    monkeypatch.setattr(queries, "log_batch_v5", log_batch_failing_once_mid_split)
    writer = make_writer(start=False, connections=1)
    events = [started() for _ in range(7)] + [started("y" * 300)]
    for event in events:
        writer.enqueue(event)
    writer.start()
    await eventually(lambda: writer.stats.written + writer.stats.failed_to_log == 8)
    assert writer.stats.retries == 1
    assert (writer.stats.written, writer.stats.failed_to_log) == (7, 1)
    assert writer.stats.rows_changed == 7
    assert await db.fetchval("SELECT count(*) FROM execution_logs") == 7


async def test_the_buffer_drops_past_its_event_bound_and_counts_exactly(
    make_writer: MakeWriter,
) -> None:
    # The database is down: the first batch is in flight (retrying), the rest
    # waits; the bound counts both.
    writer = make_writer(database_down, max_events=10, batch_size=4)
    accepted = [writer.enqueue(start) for start, _ in runs(4)]
    await eventually(lambda: writer.stats.retries >= 1)
    accepted += [writer.enqueue(start) for start, _ in runs(11)]
    assert accepted == [True] * 10 + [False] * 5
    assert writer.stats.dropped == writer.stats.dropped_buffer_full == 5
    assert writer.stats.queued == 10
    assert writer.queue_depth == 10


async def test_the_buffer_drops_past_its_byte_bound_and_counts_exactly(
    make_writer: MakeWriter,
) -> None:
    events = [started(request_message="m" * 1000) for _ in range(5)]
    size = event_size(events[0])
    writer = make_writer(database_down, max_bytes=3 * size + size // 2)
    accepted = [writer.enqueue(event) for event in events]
    assert accepted == [True, True, True, False, False]
    assert writer.stats.dropped_buffer_full == 2
    assert writer.buffered_bytes == 3 * size


async def test_dropping_events_logs_a_warning_with_the_count(
    make_writer: MakeWriter, caplog: pytest.LogCaptureFixture
) -> None:
    writer = make_writer(database_down, max_events=1)
    with caplog.at_level(logging.WARNING, logger="langgraph_execution_monitor.writer"):
        for start, _ in runs(3):
            writer.enqueue(start)
    assert any("dropped 1 execution events (buffer full)" in m for m in caplog.messages)


async def test_shutdown_writes_everything_buffered(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer(flush_interval_s=30, batch_size=100_000)
    for start, finish in runs(300):
        writer.enqueue(start)
        writer.enqueue(finish)
    await writer.stop(10)
    assert writer.stats.written == 600
    assert writer.stats.dropped == 0
    assert (
        await db.fetchval("SELECT count(*) FROM execution_logs WHERE status = 'completed'") == 300
    )


async def test_shutdown_stops_at_its_time_limit_and_counts_the_rest_as_dropped(
    make_writer: MakeWriter,
) -> None:
    writer = make_writer(database_down, batch_size=5)
    for start, _ in runs(12):
        writer.enqueue(start)
    await eventually(lambda: writer.stats.retries >= 1)
    began = time.monotonic()
    await writer.stop(0.3)
    assert time.monotonic() - began < 2
    assert writer.stats.dropped_at_shutdown == writer.stats.dropped == 12
    assert writer.queue_depth == 0 and not writer.running


async def test_a_writer_that_dies_is_restarted_and_loses_nothing(
    make_writer: MakeWriter, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = make_writer(start=False)
    real_write_work = writer._write_work
    deaths = []

    async def write_work_with_a_bug() -> None:
        if not deaths:
            deaths.append(1)
            raise RuntimeError("injected bug")
        await real_write_work()

    monkeypatch.setattr(writer, "_write_work", write_work_with_a_bug)
    for start, _ in runs(20):
        writer.enqueue(start)
    writer.start()
    await eventually(lambda: writer.stats.written == 20)
    assert writer.stats.writer_restarts == 1
    assert "injected bug" in (writer.stats.last_error or "")
    assert writer.running
    assert await db.fetchval("SELECT count(*) FROM execution_logs") == 20


async def test_a_writer_task_cancelled_from_outside_is_restarted(
    make_writer: MakeWriter,
) -> None:
    writer = make_writer()
    assert writer._task is not None
    writer._task.cancel()
    await eventually(lambda: writer.stats.writer_restarts == 1 and writer.running)
    writer.enqueue(started())
    await eventually(lambda: writer.stats.written == 1)


async def test_the_writer_closes_stale_running_rows(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    stale, fresh = started(ago_s=7200), started(ago_s=10)
    await write(db, stale, fresh)
    writer = make_writer(stale_after_s=3600, stale_check_interval_s=0.05)
    await eventually(lambda: writer.stats.stale_closed == 1)
    assert (await row(db, stale.execution_id))["status"] == "failed"
    assert (await row(db, fresh.execution_id))["status"] == "running"


async def test_counters_account_for_every_event(make_writer: MakeWriter) -> None:
    writer = make_writer(max_events=30, start=False)
    writer.enqueue(started("z" * 300))  # refused by the database
    for start, finish in runs(20):
        writer.enqueue(start)
        writer.enqueue(finish)
    writer.start()
    await eventually(lambda: writer.queue_depth == 0)
    stats = writer.stats
    assert (stats.queued, stats.written, stats.failed_to_log, stats.dropped) == (30, 29, 1, 11)
    assert stats.queued == stats.written + stats.failed_to_log + stats.dropped_at_shutdown
    assert stats.batches >= 1 and len(stats.write_latencies_ms) == stats.batches
    assert stats.connected and writer.buffered_bytes == 0


async def test_a_big_batch_is_converted_in_slices_that_let_other_tasks_run(
    make_writer: MakeWriter,
) -> None:
    writer = make_writer(batch_size=2000, start=False)
    for _ in range(2000):  # finishes alone: each is a row of its own
        writer.enqueue(finished(started()))
    turns = 0

    async def request_handler() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(request_handler())
    await asyncio.sleep(0)
    turns = 0
    await writer._take_batch()
    other.cancel()

    # 2,000 events in slices of CONVERT_SLICE: the other task ran between every two.
    assert turns >= 2000 // CONVERT_SLICE - 1
    assert sum(len(stack[0]) for stack in writer._work) == 2000


async def pauses_between_slices(writer: LogWriter, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the writer takes between conversion slices of one batch."""
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded(delay: float, *args: Any) -> Any:
        pauses.append(delay)
        return await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recorded)
    await writer._take_batch()
    monkeypatch.undo()
    return pauses


async def test_a_writer_that_keeps_up_spreads_a_batch_conversion_over_time(
    make_writer: MakeWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = make_writer(batch_size=400, start=False)
    for _ in range(400):  # finishes alone: each is a row to convert
        writer.enqueue(finished(started()))

    pauses = await pauses_between_slices(writer, monkeypatch)

    # Nothing else waits: each slice is followed by a short pause, so that the
    # requests sharing the loop each absorb at most a slice.
    assert len(pauses) >= 400 // CONVERT_SLICE - 1
    assert set(pauses) == {CONVERT_PACE_S}
    assert sum(len(stack[0]) for stack in writer._work) == 400


async def test_a_writer_behind_converts_without_pausing(
    make_writer: MakeWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = make_writer(batch_size=200, start=False)
    for _ in range(200 + 2 * PACE_BELOW):  # finishes alone: each is a row to convert
        writer.enqueue(finished(started()))

    pauses = await pauses_between_slices(writer, monkeypatch)

    # More than PACE_BELOW events still wait after this batch: it only yields.
    assert pauses and set(pauses) == {0}


async def test_a_trace_with_too_many_entries_keeps_the_first_and_a_marker(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer()
    start = started()
    trace = [{"node": f"n{i}", "status": "completed"} for i in range(2500)]
    writer.enqueue(finished(start, trace=trace))
    await eventually(lambda: writer.stats.written == 1)
    stored = json.loads((await row(db, start.execution_id))["execution_trace"])
    assert len(stored) == 2001
    assert stored[-1]["status"] == "truncated" and stored[-1]["dropped_entries"] == 500


async def test_a_trace_over_its_size_cap_drops_outputs_first(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer(max_trace_chars=20_000)
    start = started()
    trace = [
        {"node": f"n{i}", "status": "completed", "output": {"text": "y" * 1000}} for i in range(50)
    ]
    writer.enqueue(finished(start, trace=trace))
    await eventually(lambda: writer.stats.written == 1)
    stored = json.loads((await row(db, start.execution_id))["execution_trace"])
    assert [e["node"] for e in stored] == [f"n{i}" for i in range(50)]
    assert all(e.get("output_dropped") and "output" not in e for e in stored)


async def test_a_start_and_its_finish_in_one_batch_are_one_row_and_both_count_as_written(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer(start=False)
    pairs = runs(10)
    for start, finish in pairs:
        writer.enqueue(start)
        writer.enqueue(finish)
    writer.start()
    await eventually(lambda: writer.queue_depth == 0)
    assert (writer.stats.written, writer.stats.rows_changed) == (20, 10)
    for start, _ in pairs:
        assert (await row(db, start.execution_id))["status"] == "completed"


async def test_a_refused_finish_leaves_its_runs_start_written_as_before(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer(start=False, connections=1)
    start = started()
    # Tokens past int4: the database refuses the finish (a data error).
    trace = [{"node": "llm", "status": "completed", "tokens": {"input": 10**12}}]
    writer.enqueue(start)
    writer.enqueue(finished(start, trace=trace))
    writer.enqueue(finished(other := started()))
    writer.start()
    await eventually(lambda: writer.queue_depth == 0)
    assert (writer.stats.written, writer.stats.failed_to_log) == (2, 1)
    assert (await row(db, start.execution_id))["status"] == "running"
    assert (await row(db, other.execution_id))["status"] == "completed"


async def test_a_finish_that_cannot_be_converted_leaves_its_start_written(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer(start=False)
    start = started()
    writer.enqueue(start)
    writer.enqueue(finished(start)._replace(completed_at="not a time"))  # type: ignore[arg-type]
    writer.start()
    await eventually(lambda: writer.queue_depth == 0)
    assert (writer.stats.written, writer.stats.failed_to_log) == (1, 1)
    assert (await row(db, start.execution_id))["status"] == "running"
