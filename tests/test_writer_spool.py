"""The writer's local spool (`spool.py`): what the drain limit leaves at shutdown
is kept and written by the next start; a live writer's spool is never taken; a
torn line is skipped. Against a real database (the SIGKILL of a real server is
in test_writer_faults.py)."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from langgraph_execution_monitor.rows import TextCleaner, event_rows
from langgraph_execution_monitor.spool import Spool
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory
from tests.factories import finished, started

MakeWriter = Callable[..., LogWriter]


async def database_down() -> asyncpg.Pool:
    raise ConnectionRefusedError("database down (simulated)")


@pytest.fixture
async def make_writer(database_url: str, tmp_path: Path) -> AsyncIterator[MakeWriter]:
    writers: list[LogWriter] = []

    def make(pool_factory: Any = None, **options: Any) -> LogWriter:
        options = {
            "flush_interval_s": 0.01,
            "retry_max_backoff_s": 0.05,
            "stale_after_s": None,
            "spool_dir": tmp_path / "spool",
            **options,
        }
        writer = LogWriter(pool_factory or writer_pool_factory(database_url, 2), **options)
        writers.append(writer)
        writer.start()
        return writer

    yield make
    for writer in writers:
        await writer.stop(2)


async def eventually(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_events_left_at_shutdown_are_spooled_and_written_by_the_next_start(
    make_writer: MakeWriter, db: asyncpg.Connection, tmp_path: Path
) -> None:
    down = make_writer(pool_factory=database_down, batch_size=10)
    runs = [started() for _ in range(15)]
    for start in runs:
        down.enqueue(start)
    await eventually(lambda: down.stats.retries >= 2)  # a batch of 10 in flight, 5 buffered
    for start in runs:
        down.enqueue(finished(start))
    await down.stop(0.1)
    assert (down.stats.spooled_at_shutdown, down.stats.dropped_at_shutdown) == (30, 0)
    [left] = (tmp_path / "spool").glob("spool-*.jsonl")

    after = make_writer()
    await eventually(lambda: after.stats.written == 30)
    assert after.stats.replayed == 30
    completed = await db.fetchval("SELECT count(*) FROM execution_logs WHERE status = 'completed'")
    assert completed == 15
    assert not left.exists()  # replayed, then deleted


async def test_a_running_writers_spool_is_not_replayed_by_another(
    make_writer: MakeWriter, tmp_path: Path
) -> None:
    stuck = make_writer(pool_factory=database_down)
    stuck.enqueue(started())
    await eventually(lambda: stuck.stats.retries >= 1)  # its batch is in its spool
    other = make_writer()
    other.enqueue(started())
    await eventually(lambda: other.stats.written == 1)
    assert other.stats.replayed == 0
    assert stuck.queue_depth == 1


async def test_the_spool_is_empty_once_its_batch_is_committed(
    make_writer: MakeWriter, tmp_path: Path
) -> None:
    writer = make_writer()
    for _ in range(20):
        writer.enqueue(started())
    await eventually(lambda: writer.stats.written == 20)
    [spool] = (tmp_path / "spool").glob("spool-*.jsonl")
    assert spool.stat().st_size == 0


async def test_a_torn_last_line_is_skipped_and_the_rest_replayed(
    make_writer: MakeWriter, tmp_path: Path
) -> None:
    gone = Spool(tmp_path / "spool")
    good = [started() for _ in range(3)]
    rows, _ = event_rows(good, TextCleaner(1000))
    gone.append(rows)
    with gone.path.open("ab") as file:
        file.write(b'["cut-off-by-a-kil')  # what a SIGKILL mid-append leaves
    gone._file.close()  # its process "died": the lock is released
    gone._file = None

    writer = make_writer()
    await eventually(lambda: writer.stats.written == 3)
    assert writer.stats.replayed == 3
