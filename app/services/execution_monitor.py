"""This app's execution monitor: the library's monitor, configured from the app's
settings, and the demo agent instrumented with it."""

import asyncpg
from langgraph.pregel import Pregel

from app.agents.conversational_graph import build_graph, response_of
from app.config import Settings
from langgraph_execution_monitor import ExecutionMonitor
from langgraph_execution_monitor.live_events import ExecutionBroadcaster
from langgraph_execution_monitor.writer import LogWriter


def build_monitor(settings: Settings, database_url: str) -> ExecutionMonitor:
    return ExecutionMonitor(
        database_url,
        batch_size=settings.writer_batch_size,
        flush_interval_s=settings.writer_flush_interval_s,
        max_events=settings.buffer_max_events,
        max_bytes=settings.buffer_max_bytes,
        max_text_chars=settings.max_text_chars,
        max_output_chars=settings.max_output_chars,
        max_trace_chars=settings.max_trace_chars,
        retry_max_backoff_s=settings.retry_max_backoff_s,
        stale_after_s=settings.stale_after_s,
        stale_check_interval_s=settings.stale_check_interval_s,
        connections=settings.writer_pool_size,
        drain_timeout_s=settings.shutdown_drain_timeout_s,
        serve_api=False,  # the app's own pools and listener serve the routers (MonitorWiring)
    )


def monitored_agent(settings: Settings, monitor: ExecutionMonitor) -> Pregel:
    """The demo agent, every run recorded by `monitor`."""
    return monitor.instrument(
        build_graph(node_delay=settings.agent_node_delay_s), response_of=response_of
    )


class MonitorWiring:
    """What the library's routers read from a monitor (`MonitorServices`):
    made with the app, filled in by its lifespan (the database URL, and so the
    pool, the writer and the listener, exist only then)."""

    def __init__(self, api_token: str | None) -> None:
        self.api_token = api_token
        self.writer: LogWriter | None = None
        self._read_pool: asyncpg.Pool | None = None
        self._broadcaster: ExecutionBroadcaster | None = None

    @property
    def read_pool(self) -> asyncpg.Pool:
        if self._read_pool is None:
            raise RuntimeError("the monitor is not started (the app's lifespan did not run)")
        return self._read_pool

    @property
    def broadcaster(self) -> ExecutionBroadcaster:
        if self._broadcaster is None:
            raise RuntimeError("the monitor is not started (the app's lifespan did not run)")
        return self._broadcaster

    def started(
        self, read_pool: asyncpg.Pool, writer: LogWriter, broadcaster: ExecutionBroadcaster
    ) -> None:
        self._read_pool, self.writer, self._broadcaster = read_pool, writer, broadcaster


def build_broadcaster(settings: Settings, database_url: str) -> ExecutionBroadcaster:
    return ExecutionBroadcaster(
        database_url,
        client_queue_size=settings.stream_client_queue_size,
        replay_max_changes=settings.stream_replay_max_changes,
        replay_max_age_s=settings.stream_replay_max_age_s,
        statement_timeout_s=settings.read_statement_timeout_s,
    )
