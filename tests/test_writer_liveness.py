"""Runs alive in their process are never closed as stale: the writer stamps the runs
it saw start and not finish, and the sweep (of any replica) spares them. A real
finish after a stale close replaces it, counted. Against a real database."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from app.api.main import create_app
from app.config import Settings
from langgraph_execution_monitor.storage import queries
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory
from tests.factories import finished, started, write

MakeWriter = Callable[..., LogWriter]


@pytest.fixture
async def make_writer(database_url: str) -> AsyncIterator[MakeWriter]:
    writers: list[LogWriter] = []

    def make(**options: Any) -> LogWriter:
        options = {
            "flush_interval_s": 0.01,
            "retry_max_backoff_s": 0.1,
            "stale_after_s": None,
            "heartbeat_interval_s": 0.05,
            **options,
        }
        writer = LogWriter(writer_pool_factory(database_url, 2), **options)
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


async def statuses(db: asyncpg.Connection) -> dict[str, str]:
    return dict(await db.fetch("SELECT id, status FROM execution_logs"))


async def test_the_writer_stamps_the_runs_it_saw_start_and_not_finish(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer()
    live, done = started(), started()
    for event in (live, done, finished(done)):
        writer.enqueue(event)
    await eventually(lambda: writer.stats.written == 3 and writer.stats.heartbeats >= 1)
    assert writer.live_runs == 1
    stamped = await db.fetch("SELECT execution_id FROM execution_heartbeats")
    assert [r[0] for r in stamped] == [live.execution_id]


async def test_a_run_alive_in_its_process_is_not_closed_however_long_it_runs(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    writer = make_writer()
    long_run = started(ago_s=7200)
    abandoned = started(ago_s=7200)
    await write(db, abandoned)  # a start of a process that died: nobody stamps it
    writer.enqueue(long_run)
    await eventually(lambda: writer.stats.heartbeats >= 1)

    assert await queries.close_stale_executions(db, 3600) == 1
    assert await statuses(db) == {
        long_run.execution_id: "running",
        abandoned.execution_id: "failed",
    }

    writer.enqueue(finished(long_run))
    await eventually(lambda: writer.stats.written == 2)
    assert (await statuses(db))[long_run.execution_id] == "completed"
    assert writer.live_runs == 0


async def test_replicas_do_not_close_each_others_runs(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    replica_a = make_writer()
    a_run = started(ago_s=7200)
    replica_a.enqueue(a_run)
    await eventually(lambda: replica_a.stats.heartbeats >= 1)
    abandoned = started(ago_s=7200)
    await write(db, abandoned)

    replica_b = make_writer(stale_after_s=3600, stale_check_interval_s=0.05)
    await eventually(lambda: replica_b.stats.stale_closed == 1)
    await asyncio.sleep(0.3)  # several more sweeps of replica B
    assert replica_b.stats.stale_closed == 1
    assert await statuses(db) == {a_run.execution_id: "running", abandoned.execution_id: "failed"}


async def test_a_run_whose_finish_was_dropped_is_no_longer_stamped(
    make_writer: MakeWriter,
) -> None:
    writer = make_writer(max_events=1)
    run = started()
    writer.enqueue(run)
    await eventually(lambda: writer.stats.written == 1 and writer.live_runs == 1)
    other = started()
    writer.enqueue(other)  # fills the buffer's one place (no await: not taken yet)
    assert not writer.enqueue(finished(run))  # dropped, counted
    assert (writer.stats.dropped_buffer_full, writer.live_runs) == (1, 0)
    await eventually(lambda: writer.queue_depth == 0)
    # The run whose finish was lost is left to the sweep; the other start is live.
    assert writer.live_runs == 1 and writer.stats.written == 2


async def test_the_writer_counts_a_stale_close_its_real_finish_replaced(
    make_writer: MakeWriter, db: asyncpg.Connection
) -> None:
    run = started(ago_s=7200)
    await write(db, run)  # written by a replica that then stalled
    await queries.close_stale_executions(db, 3600)
    writer = make_writer()
    writer.enqueue(finished(run))
    await eventually(lambda: writer.stats.written == 1)
    assert writer.stats.stale_replaced == 1
    row = await db.fetchrow(
        "SELECT status, stale_close_replaced_at FROM execution_logs WHERE id = $1",
        run.execution_id,
    )
    assert row["status"] == "completed" and row["stale_close_replaced_at"] is not None


async def test_chat_runs_longer_than_the_stale_threshold_keep_their_real_outcome(
    settings: Settings, db: asyncpg.Connection
) -> None:
    # Each run takes about 5 x 1.2 s, twice the threshold; the sweep runs 4 times a
    # second. Before heartbeats, every such run was closed as failed mid-run and its
    # real finish discarded.
    settings.stale_after_s = 3
    settings.stale_check_interval_s = 0.25
    settings.heartbeat_interval_s = 0.5
    settings.agent_node_delay_s = 1.2
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=60
        ) as client:
            replies = await asyncio.gather(
                *(
                    client.post(
                        "/api/v1/chat/v2",
                        json={"message": "Create a LinkedIn post about AI", "user_id": "u1"},
                    )
                    for _ in range(10)
                )
            )
        writer: LogWriter = app.state.writer
        await eventually(lambda: writer.queue_depth == 0)
        assert writer.stats.stale_closed == 0
    answered = {reply.json()["execution_id"]: reply.json()["status"] for reply in replies}
    assert list(answered.values()) == ["completed"] * 10
    stored = await statuses(db)
    assert {key: stored[key] for key in answered} == answered
    assert (
        min(r["total_duration_ms"] for r in await db.fetch("SELECT * FROM execution_logs")) > 3000
    )
