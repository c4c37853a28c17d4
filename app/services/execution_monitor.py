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
    """The monitor on `database_url` (the migrated one), its writer and its reads logging
    in as WRITER_DATABASE_URL's and READER_DATABASE_URL's users when those are set, and
    the API's reads sent to READ_DATABASE_URL's replica when that is set."""
    return ExecutionMonitor(
        settings.writer_database_url or database_url,
        reader_database_url=settings.reader_database_url or database_url,
        read_replica_url=settings.read_database_url,
        batch_size=settings.writer_batch_size,
        flush_interval_s=settings.writer_flush_interval_s,
        max_events=settings.buffer_max_events,
        max_bytes=settings.buffer_max_bytes,
        max_text_chars=settings.max_text_chars,
        max_output_chars=settings.max_output_chars,
        max_trace_chars=settings.max_trace_chars,
        retry_max_backoff_s=settings.retry_max_backoff_s,
        permanent_retry_interval_s=settings.permanent_retry_interval_s,
        stale_after_s=settings.stale_after_s,
        stale_check_interval_s=settings.stale_check_interval_s,
        heartbeat_interval_s=settings.heartbeat_interval_s,
        partition_maintenance_interval_s=settings.partition_maintenance_interval_s,
        retention_days=settings.retention_days,
        rollup_retention_days=settings.rollup_retention_days,
        spool_dir=settings.spool_dir,
        connections=settings.writer_pool_size,
        drain_timeout_s=settings.shutdown_drain_timeout_s,
        api_token=settings.monitoring_api_token,
        read_pool_size=settings.db_pool_max_size,
        read_statement_timeout_s=settings.read_statement_timeout_s,
        stream_options={
            "client_queue_size": settings.stream_client_queue_size,
            "replay_max_changes": settings.stream_replay_max_changes,
            "replay_max_age_s": settings.stream_replay_max_age_s,
        },
    )


def monitored_agent(settings: Settings, monitor: ExecutionMonitor) -> Pregel:
    """The demo agent, every run recorded by `monitor`."""
    return monitor.instrument(
        build_graph(node_delay=settings.agent_node_delay_s), response_of=response_of
    )


class MonitorWiring:
    """What the library's routers read from a monitor (`MonitorServices`), for routers
    made with the app: the monitor itself exists only once the lifespan knows the
    database URL, and then serves them (`started`)."""

    def __init__(self, api_token: str | None) -> None:
        self.api_token = api_token
        self.monitor: ExecutionMonitor | None = None

    def started(self, monitor: ExecutionMonitor) -> None:
        self.monitor = monitor

    def _started(self) -> ExecutionMonitor:
        if self.monitor is None:
            raise RuntimeError("the monitor is not started (the app's lifespan did not run)")
        return self.monitor

    @property
    def read_pool(self) -> asyncpg.Pool:
        return self._started().read_pool

    @property
    def broadcaster(self) -> ExecutionBroadcaster:
        return self._started().broadcaster

    @property
    def read_replica_url(self) -> str | None:
        return None if self.monitor is None else self.monitor.read_replica_url

    @property
    def writer(self) -> LogWriter | None:
        return None if self.monitor is None else self.monitor.writer
