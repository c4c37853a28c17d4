"""The writer's local spool (`spool.py`): what the drain limit leaves at shutdown
is kept and written by the next start; a live writer's spool is never taken; a
torn line is skipped; a real server killed (SIGKILL) while its writes are stuck
loses no answered run. Against a real database."""

import asyncio
import re
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from langgraph_execution_monitor.rows import TextCleaner, event_rows
from langgraph_execution_monitor.spool import Spool
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory
from tests.app_process import AppProcess
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
        # The test is over: a writer whose database is down or blocked cannot
        # drain, and what one has not written by now is of no interest.
        await writer.stop(0.2)


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


def chat_load(url: str, stop: threading.Event, answered: dict[str, str]) -> None:
    """Chat turns one after another until `stop`; answered ones by id."""
    with httpx.Client(base_url=url, timeout=10) as client:
        index = 0
        while not stop.is_set():
            index += 1
            try:
                reply = client.post(
                    "/api/v1/chat/v2",
                    json={"message": f"Create a LinkedIn post about AI {index}", "user_id": "u1"},
                )
            except httpx.HTTPError:
                return
            if reply.status_code == 200:
                body = reply.json()
                answered[body["execution_id"]] = body["status"]


STUCK_WRITES = (
    "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
    "'execution_monitor.execution_logs'::regclass"
)


async def test_sigkill_with_writes_stuck_loses_no_answered_run_with_the_spool_on(
    database_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    spool_dir = str(tmp_path / "spool")
    env = {"SPOOL_DIR": spool_dir, "AGENT_NODE_DELAY_S": "0.01"}
    first = AppProcess(database_url, **env)
    answered: dict[str, str] = {}
    try:
        stop = threading.Event()
        load = [asyncio.to_thread(chat_load, first.url, stop, answered) for _ in range(4)]
        running = asyncio.gather(*load)
        await asyncio.sleep(1.5)
        lock = db.transaction()
        await lock.start()
        # Writes now wait: the batch in flight and everything after it are only in
        # the process's memory and its spool.
        await db.execute("LOCK TABLE execution_monitor.execution_logs IN EXCLUSIVE MODE")
        # A write waits for the table (until its lock_timeout, then it is retried):
        # seen waiting at least once.
        stuck = 0
        for _ in range(15):
            await asyncio.sleep(0.1)
            stuck = max(stuck, await db.fetchval(STUCK_WRITES))
        stop.set()
        await running
        await asyncio.sleep(0.5)  # ten flush intervals: the last finishes are spooled
        first.signal(signal.SIGKILL)
        assert await asyncio.to_thread(first.wait, 10) == -signal.SIGKILL
        await lock.rollback()
    finally:
        first.cleanup()
    stored_before = await db.fetchval("SELECT count(*) FROM execution_logs")

    second = AppProcess(database_url, **env)
    try:
        ids = list(answered)
        query = "SELECT id, status FROM execution_logs WHERE id = ANY($1) AND status <> 'running'"
        deadline = time.monotonic() + 30
        while len(rows := await db.fetch(query, ids)) < len(ids):
            assert time.monotonic() < deadline, f"{len(rows)} of {len(ids)} answered runs"
            await asyncio.sleep(0.1)
        log = second.log()
    finally:
        second.cleanup()
    assert len(answered) > 20 and stuck >= 1
    assert dict(rows) == answered  # every answered run, with the status it answered
    replayed = re.search(r"replaying (\d+) execution events", log)
    assert replayed is not None and int(replayed.group(1)) > 0
    # Without the spool, the rows missing before the restart were lost.
    assert stored_before < len(answered)
