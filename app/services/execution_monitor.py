"""This app's execution monitor: the library's monitor, configured from the app's
settings, and the demo agent instrumented with it."""

from langgraph.pregel import Pregel

from app.agents.conversational_graph import build_graph, response_of
from app.config import Settings
from langgraph_execution_monitor import ExecutionMonitor


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
    )


def monitored_agent(settings: Settings, monitor: ExecutionMonitor) -> Pregel:
    """The demo agent, every run recorded by `monitor`."""
    return monitor.instrument(
        build_graph(node_delay=settings.agent_node_delay_s), response_of=response_of
    )
