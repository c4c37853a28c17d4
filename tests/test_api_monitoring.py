"""The monitoring API's contract, over HTTP, against the seed
(`seed/execution-monitoring.md`): field names, defaults, filters, the 422s and
404s, /stats, conversation logs, /health, /metrics and /openapi.json."""

import re
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import SUMMARY_KEYS, finished, started, write

LOGS = "/api/v1/monitoring/logs"
STATS = "/api/v1/monitoring/stats"
NODES = "/api/v1/monitoring/nodes"

# The seed's listing row and detail, key for key.
SEED_DETAIL_KEYS = SUMMARY_KEYS | {"execution_trace", "input"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
NONE_GET = "'NoneType' object has no attribute 'get'"


async def write_partial(db: asyncpg.Connection, **kwargs: Any) -> str:
    start = started(**kwargs)
    await write(
        db,
        finished(
            start,
            status="partial",
            duration_s=5.234,
            response_message="I wasn't able to generate...",
            failed_nodes=["multi_platform_orchestrator"],
            error_summary=NONE_GET,
        ),
    )
    return start.execution_id


async def test_the_listing_has_the_seeds_fields_and_envelope(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    execution_id = await write_partial(db, user_id="user-001", conversation_id="conv-456")

    body = (await client.get(LOGS)).json()

    # The seed's envelope, plus the cursor and the capped-total flag (added only).
    assert set(body) == {"total", "offset", "limit", "logs", "total_capped", "next_cursor"}
    assert body["total"] == 1
    (row,) = body["logs"]
    assert set(row) == SUMMARY_KEYS
    assert row["id"] == execution_id
    assert row["conversation_id"] == "conv-456"
    assert row["user_id"] == "user-001"
    assert row["request_message"] == "Create a LinkedIn post about AI"
    assert row["response_message"] == "I wasn't able to generate..."
    assert row["status"] == "partial"
    assert row["total_duration_ms"] == 5234
    assert row["failed_nodes"] == ["multi_platform_orchestrator"]
    assert row["error_summary"] == NONE_GET
    assert ISO_UTC.match(row["started_at"]) and ISO_UTC.match(row["completed_at"])


async def test_a_running_execution_has_nulls_where_it_has_not_finished(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await write(db, started())

    (row,) = (await client.get(LOGS)).json()["logs"]

    assert row["status"] == "running"
    assert row["completed_at"] is None
    assert row["total_duration_ms"] is None
    assert row["response_message"] is None
    assert row["failed_nodes"] == []
    assert row["error_summary"] is None


async def test_the_listing_defaults_to_limit_50_offset_0(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await write(db, *(started(ago_s=i) for i in range(51)))

    body = (await client.get(LOGS)).json()

    assert (body["total"], body["offset"], body["limit"]) == (51, 0, 50)
    assert len(body["logs"]) == 50


async def test_the_listing_defaults_to_the_last_24_hours(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    recent, old = started(ago_s=23 * 3600), started(ago_s=25 * 3600)
    await write(db, recent, old)

    default = (await client.get(LOGS)).json()
    wider = (await client.get(LOGS, params={"hours": 26})).json()

    assert [row["id"] for row in default["logs"]] == [recent.execution_id]
    assert {row["id"] for row in wider["logs"]} == {recent.execution_id, old.execution_id}


async def test_the_listing_is_newest_first_and_pages_with_offset(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    runs = [started(ago_s=60 * i) for i in range(5)]  # runs[0] is the newest
    await write(db, *runs)

    first = (await client.get(LOGS, params={"limit": 2})).json()
    second = (await client.get(LOGS, params={"limit": 2, "offset": 2})).json()
    past_the_end = (await client.get(LOGS, params={"limit": 2, "offset": 10})).json()

    ids = [run.execution_id for run in runs]
    assert [row["id"] for row in first["logs"]] == ids[:2]
    assert [row["id"] for row in second["logs"]] == ids[2:4]
    assert (second["total"], second["offset"], second["limit"]) == (5, 2, 2)
    assert past_the_end["logs"] == [] and past_the_end["total"] == 5


async def test_the_listing_filters_by_status(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    partial_id = await write_partial(db)
    await write(db, started(), finished(started()))

    body = (await client.get(LOGS, params={"status": "partial"})).json()

    assert body["total"] == 1
    assert [row["id"] for row in body["logs"]] == [partial_id]


async def test_the_listing_filters_by_user_and_by_conversation(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    alice = started(user_id="alice", conversation_id="conv-a")
    bob = started(user_id="bob", conversation_id="conv-b")
    await write(db, alice, bob)

    by_user = (await client.get(LOGS, params={"user_id": "bob"})).json()
    by_conversation = (await client.get(LOGS, params={"conversation_id": "conv-a"})).json()

    assert [row["id"] for row in by_user["logs"]] == [bob.execution_id]
    assert [row["id"] for row in by_conversation["logs"]] == [alice.execution_id]


async def test_the_listing_searches_request_and_response_text(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    wanted = started(request_message="Write a haiku about PostgreSQL")
    await write(db, wanted, started(request_message="Create a post about cats"))

    body = (await client.get(LOGS, params={"q": "haiku"})).json()

    assert [row["id"] for row in body["logs"]] == [wanted.execution_id]


async def test_one_execution_has_the_seeds_fields_and_its_trace(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    execution_id = await write_partial(db)

    answer = await client.get(f"{LOGS}/{execution_id}")

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == SEED_DETAIL_KEYS
    nodes = [entry["node"] for entry in body["execution_trace"]]
    assert nodes == ["guardrail_check", "intent_classifier", "multi_platform_orchestrator"]
    for entry in body["execution_trace"]:
        assert {"node", "status", "execution_time_ms", "timestamp"} <= set(entry)
    assert body["execution_trace"][-1]["status"] == "failed"


async def test_an_unknown_execution_id_is_404(client: httpx.AsyncClient) -> None:
    answer = await client.get(f"{LOGS}/no-such-execution")

    assert answer.status_code == 404
    assert "no-such-execution" in answer.json()["detail"]


async def test_conversation_logs_list_its_executions_oldest_first(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    older = started(conversation_id="conv-456", ago_s=120)
    newer = started(conversation_id="conv-456", ago_s=60)
    await write(db, newer, older, started(conversation_id="conv-other"))

    body = (await client.get("/api/v1/monitoring/conversations/conv-456/logs")).json()

    assert body["conversation_id"] == "conv-456"
    assert (body["total"], body["offset"], body["limit"]) == (2, 0, 20)
    assert [row["id"] for row in body["logs"]] == [older.execution_id, newer.execution_id]
    assert all(set(row) == SUMMARY_KEYS for row in body["logs"])


async def test_conversation_logs_of_an_unknown_conversation_are_empty(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/api/v1/monitoring/conversations/nobody/logs")).json()

    assert body["total"] == 0 and body["logs"] == []


async def test_stats_have_the_seeds_shape_and_counts(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await write_partial(db)
    a, b, c = started(), started(), started()
    await write(
        db,
        finished(a, duration_s=1.0),
        finished(b, duration_s=3.0),
        finished(
            c,
            status="failed",
            duration_s=2.766,
            response_message=None,
            failed_nodes=["data_checker"],
            error_summary=NONE_GET,
        ),
        started(),
    )

    body = (await client.get(STATS)).json()

    assert body["time_range_hours"] == 24
    assert body["total_executions"] == 5
    assert body["by_status"] == {
        "completed": 2,
        "failed": 1,
        "partial": 1,
        "running": 1,
        "interrupted": 0,
    }
    assert body["success_rate"] == 40.0
    assert body["avg_duration_ms"] == (1000 + 3000 + 2766 + 5234) // 4
    assert body["failed_nodes_breakdown"] == {"data_checker": 1, "multi_platform_orchestrator": 1}
    assert {
        "time_range_hours",
        "total_executions",
        "by_status",
        "success_rate",
        "avg_duration_ms",
        "failed_nodes_breakdown",
    } <= set(body)


async def test_stats_of_an_empty_window_are_zero(client: httpx.AsyncClient) -> None:
    body = (await client.get(STATS, params={"hours": 1})).json()

    assert body["time_range_hours"] == 1
    assert body["total_executions"] == 0
    assert body["by_status"] == {
        "completed": 0,
        "failed": 0,
        "partial": 0,
        "running": 0,
        "interrupted": 0,
    }
    assert body["success_rate"] == 0.0
    assert body["avg_duration_ms"] is None
    assert body["failed_nodes_breakdown"] == {}


async def test_node_performance_counts_runs_and_failures_per_node(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await write_partial(db)

    body = (await client.get(NODES)).json()

    by_node = {node["node"]: node for node in body["nodes"]}
    assert body["time_range_hours"] == 24
    assert by_node["multi_platform_orchestrator"]["failures"] == 1
    assert by_node["guardrail_check"]["runs"] == 1 and by_node["guardrail_check"]["failures"] == 0


@pytest.mark.parametrize(
    ("path", "params", "mentions"),
    [
        (LOGS, {"limit": 0}, "limit"),
        (LOGS, {"limit": 201}, "limit"),
        (LOGS, {"limit": "abc"}, "limit"),
        (LOGS, {"hours": 0}, "hours"),
        (LOGS, {"hours": 169}, "hours"),
        (LOGS, {"offset": -1}, "offset"),
        (LOGS, {"status": "bogus"}, "status"),
        (LOGS, {"user_id": ""}, "user_id"),
        (LOGS, {"user_id": "a\x00b"}, "user_id"),
        (LOGS, {"q": "\x00"}, "q"),
        (f"{LOGS}/a%00b", {}, "execution_id"),
        (STATS, {"hours": 0}, "hours"),
        (STATS, {"hours": 169}, "hours"),
        (STATS, {"hours": "a day"}, "hours"),
        (NODES, {"hours": 169}, "hours"),
        ("/api/v1/monitoring/conversations/c/logs", {"limit": 201}, "limit"),
        ("/api/v1/monitoring/conversations/c/logs", {"offset": -1}, "offset"),
    ],
)
async def test_an_invalid_query_parameter_is_422_naming_it(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], mentions: str
) -> None:
    answer = await client.get(path, params=params)

    assert answer.status_code == 422
    assert mentions in answer.text


async def test_health_reports_database_writer_and_listener(client: httpx.AsyncClient) -> None:
    answer = await client.get("/health")

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["database"] == "reachable"
    assert body["writer"]["running"] is True
    assert {"queued", "written", "dropped", "queue_depth"} <= set(body["writer"])
    assert {"state", "clients", "reconnects"} <= set(body["listener"])


async def test_metrics_are_prometheus_text_with_the_monitors_counters(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/chat/v2", json={"message": "hello", "user_id": "u1"})

    answer = await client.get("/metrics")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    for name in (
        "execution_monitor_queued_total",
        "execution_monitor_written_total",
        "execution_monitor_dropped_total",
        "execution_monitor_queue_depth",
        "execution_stream_clients",
    ):
        assert re.search(rf"^{name} \d", answer.text, re.MULTILINE), name
    queued = re.search(r"^execution_monitor_queued_total (\S+)", answer.text, re.MULTILINE)
    assert queued is not None and float(queued.group(1)) >= 2  # a start and a finish


async def test_openapi_documents_every_endpoint_and_field(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()

    paths = spec["paths"]
    for path in (
        "/api/v1/monitoring/logs",
        "/api/v1/monitoring/logs/{execution_id}",
        "/api/v1/monitoring/conversations/{conversation_id}/logs",
        "/api/v1/monitoring/stats",
        "/api/v1/monitoring/stream",
        "/api/v1/chat/v2",
        "/health",
        "/metrics",
    ):
        assert path in paths, path
    listing_params = {p["name"] for p in paths["/api/v1/monitoring/logs"]["get"]["parameters"]}
    assert {"limit", "offset", "status", "user_id", "conversation_id", "hours"} <= listing_params
    assert {"since", "until", "before", "user_id_prefix", "q"} <= listing_params
    schemas = spec["components"]["schemas"]
    assert set(schemas["ExecutionSummary"]["properties"]) == SUMMARY_KEYS
    assert set(schemas["ExecutionDetail"]["properties"]) == SEED_DETAIL_KEYS
    assert {"node", "status", "execution_time_ms", "error", "timestamp"} <= set(
        schemas["TraceEntry"]["properties"]
    )
    assert {"total", "offset", "limit", "logs", "total_capped", "next_cursor"} <= set(
        schemas["ListingPage"]["properties"]
    )
    assert {"total", "offset", "limit", "logs"} <= set(
        schemas["ConversationExecutions"]["properties"]
    )
    assert {
        "time_range_hours",
        "total_executions",
        "by_status",
        "success_rate",
        "avg_duration_ms",
        "failed_nodes_breakdown",
    } <= set(schemas["ExecutionStats"]["properties"])
