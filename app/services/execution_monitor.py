"""This app's execution monitor: the library's writer and monitor, configured from
the app's settings, and the demo agent instrumented with them."""

from langgraph.pregel import Pregel

from app.agents.conversational_graph import build_graph, response_of
from app.config import Settings
from langgraph_execution_monitor.capture import ExecutionMonitor
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory


def build_writer(settings: Settings, database_url: str) -> LogWriter:
    return LogWriter(
        writer_pool_factory(database_url, settings.writer_pool_size),
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
    )


def monitored_agent(settings: Settings, monitor: ExecutionMonitor) -> Pregel:
    """The demo agent, every run recorded by `monitor`."""
    return monitor.instrument(
        build_graph(node_delay=settings.agent_node_delay_s), response_of=response_of
    )
