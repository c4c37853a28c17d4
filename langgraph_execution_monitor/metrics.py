"""Prometheus metrics, read from the writer's and the broadcaster's counters at
scrape time (nothing is added to the hot path)."""

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector

from langgraph_execution_monitor.live_events import ExecutionBroadcaster
from langgraph_execution_monitor.writer import LogWriter


class MonitorCollector(Collector):
    def __init__(self, writer: LogWriter, broadcaster: ExecutionBroadcaster | None) -> None:
        self.writer = writer
        self.broadcaster = broadcaster

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | SummaryMetricFamily]:
        stats = self.writer.stats
        counters = {
            "queued": ("Execution events accepted by the monitor's queue", stats.queued),
            "written": ("Execution events written to PostgreSQL", stats.written),
            "batches": ("Batches written", stats.batches),
            "retries": ("Batch write attempts that failed and were retried", stats.retries),
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
        }
        for name, (help_text, value) in counters.items():
            yield CounterMetricFamily(f"execution_monitor_{name}", help_text, value=value)
        yield GaugeMetricFamily(
            "execution_monitor_queue_depth",
            "Events waiting to be written",
            value=self.writer.queue_depth,
        )
        yield GaugeMetricFamily(
            "execution_monitor_queue_bytes",
            "Approximate bytes buffered",
            value=self.writer.buffered_bytes,
        )
        latencies = list(stats.write_latencies_ms)
        yield SummaryMetricFamily(
            "execution_monitor_batch_write_seconds",
            "Batch write latency (last 1024 batches)",
            count_value=len(latencies),
            sum_value=sum(latencies) / 1000,
        )
        if self.broadcaster is not None:
            live = self.broadcaster.stats
            yield GaugeMetricFamily(
                "execution_stream_clients",
                "Connected stream clients",
                value=self.broadcaster.subscriber_count,
            )
            yield GaugeMetricFamily(
                "execution_listener_connected",
                "1 when the LISTEN connection is up",
                value=1 if self.broadcaster.state == "connected" else 0,
            )
            yield CounterMetricFamily(
                "execution_listener_reconnects", "LISTEN reconnections", value=live.reconnects
            )
            yield CounterMetricFamily(
                "execution_stream_clients_dropped",
                "Slow stream clients dropped",
                value=live.subscribers_dropped,
            )
            yield CounterMetricFamily(
                "execution_stream_changes",
                "Execution changes fanned out",
                value=live.changes_broadcast,
            )


def build_registry(
    writer: LogWriter, broadcaster: ExecutionBroadcaster | None
) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(MonitorCollector(writer, broadcaster))
    return registry
