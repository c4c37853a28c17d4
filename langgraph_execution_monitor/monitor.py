"""The library's entry point: a monitor that captures runs and writes them to PostgreSQL.

In an async app (FastAPI, a worker on asyncio)::

    monitor = ExecutionMonitor(os.environ["DATABASE_URL"])
    graph = monitor.instrument(builder.compile())
    async with monitor:                      # or: await monitor.start() / await monitor.aclose()
        await graph.ainvoke(state, config)

In a sync app (a script, Flask, a Celery worker), ``start()`` called where no event loop
runs starts the writer on a background thread with its own loop; ``close()`` drains it
(it also runs at interpreter exit)::

    monitor = ExecutionMonitor(os.environ["DATABASE_URL"]).start()
    graph = monitor.instrument(builder.compile())
    graph.invoke(state, config)
    monitor.close()

There the hot path appends to a thread-safe intake (bounded; past it events are dropped
and counted) that the writer's loop moves into its buffer every flush interval, so app
threads never touch the writer's asyncio state.

``ExecutionMonitor(pool=...)`` writes through an asyncpg pool the app already has (the
monitor never closes it); ``ExecutionMonitor(emit=...)`` hands events to any callable
(tests, custom sinks) and writes nothing itself.

Started in an event loop with a database URL, it also serves the library's routers
(`api.router.create_router(monitor)`, `create_system_router(monitor)`): a read pool
with a statement timeout, and the live fan-out with its LISTEN connection
(``serve_api=False`` leaves both out). ``reader_database_url=`` gives them a login of
their own (a member of ``execution_monitor_reader``, which can only read) while the
writer logs in with ``database_url`` (a member of ``execution_monitor_writer``, which
can only write); by default both use ``database_url``. With ``pool=`` and a
``reader_database_url``, the routers are served too.

``read_replica_url=`` sends the routers' reads (the read pool) to a hot standby,
logging in as that URL says (the primary's roles are the standby's too). Everything
else stays on the primary: the writer, the LISTEN connection (a standby cannot
LISTEN) and the stream's reads of changed rows and its replays (a lagging standby
would not have a change just announced, and the stream must not lose one). So a
listing is behind by the replication lag, while the stream is not.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import asyncpg

from langgraph_execution_monitor.capture.graph import ExecutionMonitor as _Capture
from langgraph_execution_monitor.events import ExecutionEvent
from langgraph_execution_monitor.live_events import ExecutionBroadcaster
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory

logger = logging.getLogger("langgraph_execution_monitor")


class _Intake:
    """Where app threads put events while the writer runs on its own thread."""

    def __init__(self, max_events: int) -> None:
        self.events: deque[ExecutionEvent] = deque()
        self.max_events = max_events
        self._dropped = itertools.count()  # next() is atomic: safe from many threads
        self.dropped = 0

    def put(self, event: ExecutionEvent) -> bool:
        if len(self.events) >= self.max_events:
            self.dropped = next(self._dropped) + 1
            return False
        self.events.append(event)
        return True


class ExecutionMonitor(_Capture):
    """Captures the runs of instrumented graphs and writes them to PostgreSQL.

    ``settings`` are the writer's (``batch_size``, ``flush_interval_s``,
    ``max_events``, ``max_bytes``, ``max_text_chars``, ``max_output_chars``,
    ``max_trace_chars``, ``retry_max_backoff_s``, ``stale_after_s``, ``connections``,
    ``partition_maintenance_interval_s``, ``retention_days``, ``rollup_retention_days``).
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        pool: asyncpg.Pool | None = None,
        emit: Callable[[ExecutionEvent], object] | None = None,
        default_user_id: str = "anonymous",
        drain_timeout_s: float = 5.0,
        api_token: str | None = None,
        serve_api: bool = True,
        read_pool_size: int = 10,
        read_statement_timeout_s: float = 5.0,
        stream_options: dict[str, Any] | None = None,
        reader_database_url: str | None = None,
        read_replica_url: str | None = None,
        **settings: Any,
    ) -> None:
        if sum(x is not None for x in (database_url, pool, emit)) != 1:
            raise TypeError("ExecutionMonitor takes one of: a database URL, pool=, emit=")
        self.writer: LogWriter | None = None
        if emit is None:
            connections = settings.pop("connections", 2)
            if pool is not None:
                lent = pool

                async def pool_factory() -> asyncpg.Pool:
                    return lent

                self.writer = LogWriter(
                    pool_factory, connections=connections, owns_pool=False, **settings
                )
            else:
                assert database_url is not None
                self.writer = LogWriter(
                    writer_pool_factory(database_url, connections),
                    connections=connections,
                    **settings,
                )
            emit = self.writer.enqueue
        super().__init__(emit, default_user_id=default_user_id)
        self.database_url = database_url
        self.drain_timeout_s = drain_timeout_s
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._intake: _Intake | None = None
        self._closing = threading.Event()
        self.api_token = api_token
        # The LISTEN connection's and the stream's login (on the primary), and the
        # read pool's unless a replica serves the reads.
        self.reader_database_url = reader_database_url or database_url
        self.read_replica_url = read_replica_url
        self.serve_api = serve_api and self.reader_database_url is not None
        self.read_pool_size = read_pool_size
        self.read_statement_timeout_s = read_statement_timeout_s
        # ExecutionBroadcaster's settings: client_queue_size, replay_max_changes, ...
        self.stream_options = stream_options or {}
        self._read_pool: asyncpg.Pool | None = None
        self._broadcaster: ExecutionBroadcaster | None = None

    # -- what the routers read (api.deps.MonitorServices) --------------------------

    @property
    def read_pool(self) -> asyncpg.Pool:
        if self._read_pool is None:
            raise RuntimeError("the monitor's API is not started: await monitor.start() first")
        return self._read_pool

    @property
    def broadcaster(self) -> ExecutionBroadcaster:
        if self._broadcaster is None:
            raise RuntimeError("the monitor's API is not started: await monitor.start() first")
        return self._broadcaster

    # -- async apps ------------------------------------------------------------------

    def start(self) -> Any:
        """Start writing. In a running event loop, returns an awaitable (``await
        monitor.start()``); where none runs, starts a background thread and returns
        the monitor."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._start_thread()
            return self
        return self._astart()

    async def _astart(self) -> ExecutionMonitor:
        if self.writer is not None:
            self.writer.start()
        if self.serve_api and self._read_pool is None:
            url = self.reader_database_url
            assert url is not None
            # min_size=0: the app starts (and answers) while the database is down.
            self._read_pool = await asyncpg.create_pool(
                self.read_replica_url or url,
                min_size=0,
                max_size=self.read_pool_size,
                timeout=10,
                command_timeout=self.read_statement_timeout_s + 5,
                server_settings={
                    "application_name": "execution-monitor-api",
                    "statement_timeout": str(int(self.read_statement_timeout_s * 1000)),
                },
            )
            self._broadcaster = ExecutionBroadcaster(
                url, statement_timeout_s=self.read_statement_timeout_s, **self.stream_options
            )
            await self._broadcaster.start()
        return self

    async def aclose(self) -> None:
        """Write what is buffered (up to ``drain_timeout_s``), then stop.

        The writer's drain, the fan-out's stop and the read pool's close run side by
        side, each bounded even when the database hangs: the writer by its drain
        limit (then its connections are terminated), the others by 2 s (closing a
        connection waits for the server's goodbye)."""
        steps = []
        if self._broadcaster is not None:
            steps.append(self._broadcaster.stop(timeout_s=2))
            self._broadcaster = None
        if self.writer is not None:
            steps.append(self.writer.stop(self.drain_timeout_s))
        if self._read_pool is not None:
            pool, self._read_pool = self._read_pool, None
            steps.append(_close_or_terminate(pool, 2))
        await asyncio.gather(*steps)

    async def __aenter__(self) -> ExecutionMonitor:
        return await self._astart()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- sync apps -------------------------------------------------------------------

    def _start_thread(self) -> None:
        if self._thread is not None or self.writer is None:
            return
        writer = self.writer
        self._intake = _Intake(writer.max_events)
        ready = threading.Event()
        self._closing.clear()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._thread_loop = loop
            try:
                loop.run_until_complete(self._run_thread(ready))
            finally:
                loop.close()

        self._thread = threading.Thread(target=main, name="execution-monitor-writer", daemon=True)
        self._thread.start()
        ready.wait(10)
        atexit.register(self.close)

    async def _run_thread(self, ready: threading.Event) -> None:
        writer, intake = self.writer, self._intake
        assert writer is not None and intake is not None
        # Events emitted before start are in the writer's buffer already; from now on
        # app threads go through the intake.
        self._sink = intake.put
        writer.start()
        ready.set()
        counted = 0
        while True:
            closing = self._closing.is_set()
            while intake.events:
                writer.enqueue(intake.events.popleft())
            if intake.dropped > counted:  # drops at the intake are the writer's drops
                writer.stats.dropped_buffer_full += intake.dropped - counted
                writer.stats.dropped += intake.dropped - counted
                counted = intake.dropped
            if closing:
                break
            await asyncio.sleep(writer.flush_interval_s)
        await writer.stop(self.drain_timeout_s)

    def close(self) -> None:
        """Drain and stop the background writer thread (sync apps)."""
        thread = self._thread
        if thread is None:
            return
        self._closing.set()
        thread.join(self.drain_timeout_s + 5)
        self._thread = None
        if self.writer is not None:
            self._sink = self.writer.enqueue
        try:
            atexit.unregister(self.close)
        except Exception:  # pragma: no cover
            pass

    def __enter__(self) -> ExecutionMonitor:
        self._start_thread()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def _close_or_terminate(pool: asyncpg.Pool, timeout_s: float) -> None:
    try:
        await asyncio.wait_for(pool.close(), timeout_s)
    except Exception:
        pool.terminate()
