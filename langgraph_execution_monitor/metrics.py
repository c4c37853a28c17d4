"""Prometheus metrics, read from the writer's and the broadcaster's counters at
scrape time (nothing is added to the hot path).

Counters are the writer's and broadcaster's own monotonic counts. The batch
write time is a real Histogram (cumulative buckets, monotonic `_count` and
`_sum`, so `rate()` and `histogram_quantile()` work): the writer records each
batch's duration in `stats.write_latencies_ms`, a bounded deque; at the
first scrape the collector observes what is in it and replaces it with a
deque that also observes each value appended from then on (the writer's code
is unchanged, and nothing between two scrapes is lost)."""

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from langgraph_execution_monitor.capture import compat
from langgraph_execution_monitor.live_events import ExecutionBroadcaster
from langgraph_execution_monitor.writer import LogWriter

BATCH_WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ObservedLatencies(deque[float]):
    """The writer's recent batch latencies (ms), each also observed (in
    seconds) by a Histogram."""

    def __init__(self, histogram: Histogram, values: Iterable[float] = (), maxlen: int = 1024):
        super().__init__(values, maxlen=maxlen)
        self.histogram = histogram

    def append(self, value: float) -> None:
        super().append(value)
        self.histogram.observe(value / 1000)


def observe_batch_writes(writer: LogWriter, histogram: Histogram) -> None:
    """From now on, every batch latency the writer records is also observed;
    those it recorded already (its last 1024) are observed now."""
    current = writer.stats.write_latencies_ms
    if isinstance(current, ObservedLatencies) and current.histogram is histogram:
        return
    for value in current:
        histogram.observe(value / 1000)
    writer.stats.write_latencies_ms = ObservedLatencies(
        histogram, current, maxlen=current.maxlen or 1024
    )


class MonitorCollector(Collector):
    """Reads `source()`'s writer and broadcaster at each scrape (they may be
    created after the app's routes, in its lifespan)."""

    def __init__(self, source: Callable[[], tuple[LogWriter | None, Any]]) -> None:
        self.source = source
        self.batch_write_seconds = Histogram(
            "execution_monitor_batch_write_seconds",
            "Time of one log_batch call (one batch, one connection)",
            buckets=BATCH_WRITE_BUCKETS,
            registry=None,
        )

    def collect(self) -> Iterator[Any]:
        writer, broadcaster = self.source()
        if writer is not None:
            observe_batch_writes(writer, self.batch_write_seconds)
            yield from self._writer_metrics(writer)
            yield from self.batch_write_seconds.collect()
        if broadcaster is not None:
            yield from self._live_metrics(broadcaster)
        yield GaugeMetricFamily(
            "execution_monitor_capture_problems",
            "LangGraph/LangChain internals the capture's self-check did not find "
            "(0: complete node traces)",
            value=len(compat.problems),
        )

    def _writer_metrics(self, writer: LogWriter) -> Iterator[Any]:
        stats = writer.stats
        counters = {
            "queued": ("Execution events accepted by the monitor's queue", stats.queued),
            "written": ("Execution events written to PostgreSQL", stats.written),
            "batches": ("Batches written", stats.batches),
            "retries": ("Batch write attempts that failed and were retried", stats.retries),
            "permanent_errors": (
                "Batch write attempts refused until an operator fixes the database",
                stats.permanent_errors,
            ),
            "dropped": ("Events dropped (both reasons below)", stats.dropped),
            "dropped_buffer_full": ("Events refused: buffer full", stats.dropped_buffer_full),
            "dropped_at_shutdown": (
                "Events unwritten when the shutdown drain limit passed",
                stats.dropped_at_shutdown,
            ),
            "failed_to_log": ("Events the database refused even alone", stats.failed_to_log),
            "writer_restarts": (
                "Times the writer task died and was restarted",
                stats.writer_restarts,
            ),
            "stale_closed": ("Running executions closed as stale", stats.stale_closed),
            "stale_replaced": (
                "Stale closes replaced by the run's real finish",
                stats.stale_replaced,
            ),
            "replayed": ("Events replayed from the spools of writers that stopped", stats.replayed),
            "spooled_at_shutdown": (
                "Events unwritten at shutdown, kept in the spool for the next start",
                stats.spooled_at_shutdown,
            ),
            "spool_errors": ("Failed spool writes", stats.spool_errors),
            "heartbeat_errors": (
                "Failed stamps of the runs alive in this process",
                stats.heartbeat_errors,
            ),
            "partitions_created": (
                "Day partitions of execution_logs this writer made ahead",
                stats.partitions_created,
            ),
            "partitions_dropped": (
                "Day partitions of execution_logs this writer dropped past the retention",
                stats.partitions_dropped,
            ),
            "maintenance_errors": (
                "Failed partition maintenance calls (tried again the next interval)",
                stats.maintenance_errors,
            ),
        }
        for name, (help_text, value) in counters.items():
            yield CounterMetricFamily(f"execution_monitor_{name}", help_text, value=value)
        yield GaugeMetricFamily(
            "execution_monitor_writer_blocked",
            "1 while writes fail with a permanent error (a missing function, privilege, ...)",
            value=1 if stats.blocked_by is not None else 0,
        )
        yield GaugeMetricFamily(
            "execution_monitor_live_runs",
            "Runs this process started and has not finished (stamped as alive)",
            value=writer.live_runs,
        )
        yield GaugeMetricFamily(
            "execution_monitor_queue_depth",
            "Events waiting to be written",
            value=writer.queue_depth,
        )
        yield GaugeMetricFamily(
            "execution_monitor_queue_bytes",
            "Approximate bytes buffered",
            value=writer.buffered_bytes,
        )

    def _live_metrics(self, broadcaster: ExecutionBroadcaster) -> Iterator[Any]:
        live = broadcaster.stats
        yield GaugeMetricFamily(
            "execution_stream_clients",
            "Connected stream clients",
            value=broadcaster.subscriber_count,
        )
        yield GaugeMetricFamily(
            "execution_listener_connected",
            "1 when the LISTEN connection is up",
            value=1 if broadcaster.state == "connected" else 0,
        )
        counters = {
            "execution_listener_reconnects": ("LISTEN reconnections", live.reconnects),
            "execution_stream_fetch_errors": (
                "Failed reads of the changes to fan out (retried from the same change)",
                live.fetch_errors,
            ),
            "execution_stream_fetches": (
                "Reads of the changes since the fan-out's cursor (one per batch fanned out)",
                live.fetches,
            ),
            "execution_stream_changes": ("Execution changes fanned out", live.changes_broadcast),
            "execution_stream_batches_sent_directly": (
                "(client, batch) pairs the fan-out wrote to an idle client itself",
                live.batches_sent_directly,
            ),
            "execution_stream_batches_queued": (
                "(client, batch) pairs queued for the client's stream to send",
                live.batches_queued,
            ),
            "execution_stream_clients_dropped": (
                "Stream clients dropped as too slow (they can resume)",
                live.subscribers_dropped,
            ),
            "execution_stream_send_timeouts": (
                "Stream clients disconnected because a send timed out",
                live.send_timeouts,
            ),
            "execution_stream_connections_aborted": (
                "Connections of dropped or timed-out stream clients reset",
                live.connections_aborted,
            ),
            "execution_stream_replay_resets": (
                "Resumes too far back, answered with a reset event",
                live.replay_resets,
            ),
        }
        for name, (help_text, value) in counters.items():
            yield CounterMetricFamily(name, help_text, value=value)


def build_registry(
    source: Callable[[], tuple[LogWriter | None, ExecutionBroadcaster | None]],
) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(MonitorCollector(source))
    return registry
