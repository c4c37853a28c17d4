"""GET /metrics: the batch write time is a Histogram whose count and sum only
grow (one observation per batch the writer wrote, however many between two
scrapes), and the live path's losses and retries are counters."""

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from langgraph_execution_monitor.capture import compat
from langgraph_execution_monitor.writer import LogWriter
from tests.test_stream import until

CHAT = "/api/v1/chat/v2"


async def scrape(client: httpx.AsyncClient) -> dict[str, float]:
    answer = await client.get("/metrics")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            key = sample.name
            if "le" in sample.labels:
                key += f"{{le={sample.labels['le']}}}"
            samples[key] = sample.value
    return samples


async def metric_types(client: httpx.AsyncClient) -> dict[str, str]:
    answer = await client.get("/metrics")
    return {family.name: family.type for family in text_string_to_metric_families(answer.text)}


async def chat_until_written(client: httpx.AsyncClient, writer: LogWriter, runs: int) -> None:
    for index in range(runs):
        answer = await client.post(CHAT, json={"message": f"hello {index}", "user_id": "u1"})
        assert answer.status_code == 200
    await until(lambda: writer.queue_depth == 0, "the writer to write them")


async def test_batch_write_time_is_a_histogram(client: httpx.AsyncClient) -> None:
    types = await metric_types(client)

    assert types["execution_monitor_batch_write_seconds"] == "histogram"


async def test_the_histogram_counts_every_batch_the_writer_wrote(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    writer: LogWriter = app.state.writer
    await scrape(client)
    await chat_until_written(client, writer, 5)

    samples = await scrape(client)

    assert samples["execution_monitor_batch_write_seconds_count"] == writer.stats.batches > 0
    assert samples["execution_monitor_batch_write_seconds_bucket{le=+Inf}"] == writer.stats.batches
    assert samples["execution_monitor_batch_write_seconds_sum"] > 0


async def test_the_histogram_count_never_falls_past_the_writers_recent_window(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    writer: LogWriter = app.state.writer
    before = (await scrape(client))["execution_monitor_batch_write_seconds_count"]
    # More batches between two scrapes than the writer's deque of recent
    # latencies keeps (1024): what the writer's write path records, each time.
    for _ in range(3000):
        writer.stats.write_latencies_ms.append(12.5)

    after = await scrape(client)

    assert after["execution_monitor_batch_write_seconds_count"] == before + 3000
    assert len(writer.stats.write_latencies_ms) == 1024  # the writer's window is unchanged
    assert after["execution_monitor_batch_write_seconds_bucket{le=0.01}"] <= before
    assert after["execution_monitor_batch_write_seconds_bucket{le=0.025}"] >= 3000


async def test_the_live_paths_losses_and_retries_are_counters(client: httpx.AsyncClient) -> None:
    types = await metric_types(client)

    for name in (
        "execution_stream_fetch_errors",
        "execution_stream_clients_dropped",
        "execution_stream_send_timeouts",
        "execution_stream_connections_aborted",
        "execution_stream_replay_resets",
        "execution_stream_batches_sent_directly",
        "execution_stream_batches_queued",
        "execution_listener_reconnects",
        "execution_monitor_dropped",
    ):
        assert types[name] == "counter", name


async def test_a_failed_capture_self_check_shows_in_metrics_and_health(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await scrape(client))["execution_monitor_capture_problems"] == 0
    assert (await client.get("/health")).json()["capture"]["state"] == "ok"

    monkeypatch.setattr(compat, "problems", ["langgraph.pregel._runner.arun_with_retry is missing"])

    assert (await scrape(client))["execution_monitor_capture_problems"] == 1
    capture = (await client.get("/health")).json()["capture"]
    assert capture["state"] == "incomplete" and "arun_with_retry" in capture["problems"][0]
