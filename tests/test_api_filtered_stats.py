"""GET /stats and /nodes with the listing's filters (status, user, user prefix,
conversation, search, any window): the overview follows what the table shows.
Without them, both answer as the seed's endpoints always did."""

import json
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from langgraph_execution_monitor.storage import queries
from tests.factories import finished, started, write

STATS = "/api/v1/monitoring/stats"
NODES = "/api/v1/monitoring/nodes"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def seed(db: asyncpg.Connection) -> None:
    """ada: completed; alice: failed in data_checker (NoneType); bob: partial in writer."""
    ada, alice, bob = (
        started(user_id=u, ago_s=60 - i) for i, u in enumerate(["ada", "alice", "bob"])
    )
    await write(
        db,
        ada,
        finished(ada),
        alice,
        finished(
            alice,
            status="failed",
            failed_nodes=["data_checker"],
            error_summary="'NoneType' object has no attribute 'get'",
        ),
        bob,
        finished(bob, status="partial", failed_nodes=["writer"], error_summary="timeout"),
    )


async def test_stats_without_filters_answer_as_the_seeds_endpoint(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await seed(db)

    body = await get(client, STATS, hours=24)

    assert body == json.loads(await queries.execution_stats(db, 24))
    assert "since" not in body


async def test_stats_follow_the_status_filter(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await seed(db)

    body = await get(client, STATS, status="failed")

    assert (body["total_executions"], body["by_status"]["failed"]) == (1, 1)
    assert body["failed_nodes_breakdown"] == {"data_checker": 1}


async def test_stats_follow_the_user_prefix(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await seed(db)

    body = await get(client, STATS, user_id_prefix="a")

    assert body["total_executions"] == 2
    assert body["by_status"]["completed"] == 1 and body["by_status"]["failed"] == 1


async def test_stats_follow_the_search_over_error_summaries(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await seed(db)

    body = await get(client, STATS, q="nonetype")

    assert (body["total_executions"], body["by_status"]["failed"]) == (1, 1)


async def test_stats_take_a_window_older_than_168_hours(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    now = time.time()
    old = started(started_at=now - 40 * 86400)
    await write(db, old, finished(old), started(ago_s=10))

    body = await get(client, STATS, since=iso(now - 41 * 86400), until=iso(now - 39 * 86400))

    assert (body["total_executions"], body["time_range_hours"]) == (1, 48)
    assert body["since"].startswith(iso(now - 41 * 86400)[:16])


async def test_a_start_alone_counts_what_the_same_hours_count(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await seed(db)
    await write(db, started(ago_s=3 * 3600))

    by_start = await get(client, STATS, since=iso(time.time() - 2 * 3600))
    by_hours = await get(client, STATS, hours=2)

    assert by_start["total_executions"] == by_hours["total_executions"] == 3
    assert by_start["by_status"] == by_hours["by_status"]


async def test_the_node_table_follows_the_status_filter(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await seed(db)

    body = await get(client, NODES, status="partial")

    by_node = {n["node"]: n for n in body["nodes"]}
    assert set(by_node) == {"guardrail_check", "intent_classifier", "writer"}
    assert by_node["writer"]["failures"] == 1 and by_node["guardrail_check"]["runs"] == 1


async def test_the_node_table_without_filters_answers_as_the_seeds_endpoint(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await seed(db)

    assert await get(client, NODES) == json.loads(await queries.node_performance(db, 24))


async def test_hours_with_since_is_422(client: httpx.AsyncClient) -> None:
    for path in (STATS, NODES):
        answer = await client.get(path, params={"hours": 24, "since": iso(time.time() - 60)})
        assert answer.status_code == 422, path
        assert "hours cannot be combined" in answer.text


async def test_since_not_before_until_is_422(client: httpx.AsyncClient) -> None:
    now = time.time()
    answer = await client.get(STATS, params={"since": iso(now), "until": iso(now - 60)})

    assert answer.status_code == 422
    assert "must be before until" in answer.text
