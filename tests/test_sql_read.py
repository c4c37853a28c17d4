"""Read side: the listing, one execution, a conversation's executions, the
stats, the failed-node breakdown, per-node performance and the psql views."""

import json
import time
from typing import Any

import asyncpg
import pytest

from langgraph_execution_monitor.storage import queries
from tests.factories import SUMMARY_KEYS, finished, started, write


async def listing(db: asyncpg.Connection, **filters: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = dict(
        status=None, user_id=None, conversation_id=None, hours=24, limit=50, offset=0, q=None
    )
    arguments.update(filters)
    return json.loads(await queries.list_executions(db, **arguments))


async def stats(db: asyncpg.Connection, hours: int = 24) -> dict[str, Any]:
    return json.loads(await queries.execution_stats(db, hours))


async def seed_mixed_runs(db: asyncpg.Connection) -> None:
    """u1/c1: completed, failed; u2/c2: completed, partial; u2/c1: running."""
    a, b, c, d, e = (
        started(user_id="u1", conversation_id="c1", ago_s=50),
        started(user_id="u1", conversation_id="c1", ago_s=40),
        started(user_id="u2", conversation_id="c2", ago_s=30),
        started(user_id="u2", conversation_id="c2", ago_s=20),
        started(user_id="u2", conversation_id="c1", ago_s=10),
    )
    await write(
        db,
        a,
        finished(a),
        b,
        finished(
            b,
            status="failed",
            response_message=None,
            failed_nodes=["data_checker"],
            error_summary="'NoneType' object has no attribute 'get'",
        ),
        c,
        finished(c),
        d,
        finished(
            d,
            status="partial",
            failed_nodes=["multi_platform_orchestrator"],
            error_summary="twitter is down",
        ),
        e,
    )


async def test_listing_returns_the_seed_shape_newest_first(db: asyncpg.Connection) -> None:
    await seed_mixed_runs(db)
    page = await listing(db)
    assert (page["total"], page["offset"], page["limit"]) == (5, 0, 50)
    assert [log["status"] for log in page["logs"]] == [
        "running",
        "partial",
        "completed",
        "failed",
        "completed",
    ]
    assert set(page["logs"][0]) == SUMMARY_KEYS
    assert page["logs"][1]["failed_nodes"] == ["multi_platform_orchestrator"]
    assert page["logs"][1]["started_at"].endswith("Z")


@pytest.mark.parametrize(
    ("filters", "expected_statuses"),
    [
        ({"status": "completed"}, ["completed", "completed"]),
        ({"user_id": "u1"}, ["failed", "completed"]),
        ({"conversation_id": "c1"}, ["running", "failed", "completed"]),
        ({"user_id": "u2", "conversation_id": "c1"}, ["running"]),
        ({"user_id": "u1", "status": "failed", "conversation_id": "c1"}, ["failed"]),
        ({"user_id": "nobody"}, []),
    ],
)
async def test_listing_filters_alone_and_combined(
    db: asyncpg.Connection, filters: dict[str, Any], expected_statuses: list[str]
) -> None:
    await seed_mixed_runs(db)
    page = await listing(db, **filters)
    assert [log["status"] for log in page["logs"]] == expected_statuses
    assert page["total"] == len(expected_statuses)


async def test_total_counts_the_whole_filter_not_the_page(db: asyncpg.Connection) -> None:
    await write(db, *[started(user_id="many") for _ in range(7)], started(user_id="other"))
    page = await listing(db, user_id="many", limit=3)
    assert (len(page["logs"]), page["total"]) == (3, 7)


async def test_the_time_window_includes_its_edge_and_excludes_older_runs(
    db: asyncpg.Connection,
) -> None:
    inside = started(ago_s=2 * 3600 - 60)
    outside = started(ago_s=2 * 3600 + 60)
    await write(db, inside, outside)
    page = await listing(db, hours=2)
    assert [log["id"] for log in page["logs"]] == [inside.execution_id]
    assert (await listing(db, hours=3))["total"] == 2


async def test_offset_pages_neither_overlap_nor_skip(db: asyncpg.Connection) -> None:
    # Same started_at for all: the id breaks the tie, so pages stay stable.
    same_time = time.time() - 5
    runs = [started(started_at=same_time) for _ in range(10)]
    await write(db, *runs)
    seen: list[str] = []
    for offset in range(0, 10, 4):
        seen += [log["id"] for log in (await listing(db, limit=4, offset=offset))["logs"]]
    assert sorted(seen) == sorted(r.execution_id for r in runs)
    assert len(seen) == len(set(seen)) == 10


async def test_text_search_matches_request_and_response(db: asyncpg.Connection) -> None:
    by_request = started(request_message="Write a haiku about PostgreSQL")
    by_response = started(request_message="something else")
    await write(
        db,
        by_request,
        finished(by_response, response_message="A haiku, as asked"),
        started(request_message="unrelated"),
    )
    page = await listing(db, q="HAIKU")
    assert {log["id"] for log in page["logs"]} == {
        by_request.execution_id,
        by_response.execution_id,
    }
    assert page["total"] == 2


async def test_text_search_treats_wildcards_literally(db: asyncpg.Connection) -> None:
    literal = started(request_message="discount 100% off")
    await write(db, literal, started(request_message="discount 100 off"))
    assert [log["id"] for log in (await listing(db, q="100%"))["logs"]] == [literal.execution_id]
    assert (await listing(db, q="_"))["total"] == 0


async def test_writes_maintain_one_trigram_index(db: asyncpg.Connection) -> None:
    """Only the bounded search text is trigram-indexed (the first release's index over
    the whole request and response is gone: every write paid for it, no read used it)."""
    names = await db.fetchval(
        """SELECT array_agg(i.relname::text ORDER BY i.relname)
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_am a ON a.oid = i.relam
           WHERE x.indrelid = 'execution_logs'::regclass AND a.amname = 'gin'"""
    )
    assert names == ["idx_execution_search_prefix"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"limit": 0}, "limit must be between 1 and 200"),
        ({"limit": 201}, "limit must be between 1 and 200"),
        ({"offset": -1}, "offset must be 0 or more"),
        ({"hours": 0}, "hours must be between 1 and 168"),
        ({"hours": 169}, "hours must be between 1 and 168"),
        ({"status": "done"}, "status must be one of"),
    ],
)
async def test_listing_refuses_bad_parameters(
    db: asyncpg.Connection, filters: dict[str, Any], message: str
) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match=message):
        await listing(db, **filters)


async def test_one_execution_comes_with_its_trace(db: asyncpg.Connection) -> None:
    start = started()
    await write(db, finished(start, failed_nodes=["data_checker"], status="failed"))
    execution = json.loads(await queries.get_execution(db, start.execution_id))
    assert execution["id"] == start.execution_id
    assert [entry["node"] for entry in execution["execution_trace"]] == [
        "guardrail_check",
        "intent_classifier",
        "data_checker",
    ]
    assert execution["execution_trace"][2]["status"] == "failed"


async def test_an_unknown_execution_is_null(db: asyncpg.Connection) -> None:
    assert await queries.get_execution(db, "no-such-id") is None


async def test_a_running_execution_has_an_empty_trace(db: asyncpg.Connection) -> None:
    start = started()
    await write(db, start)
    assert json.loads(await queries.get_execution(db, start.execution_id))["execution_trace"] == []


async def test_a_conversation_lists_its_executions_oldest_first(db: asyncpg.Connection) -> None:
    await seed_mixed_runs(db)
    result = json.loads(await queries.list_conversation_executions(db, "c1", limit=2, offset=0))
    assert result["conversation_id"] == "c1"
    assert result["total"] == 3
    assert [log["status"] for log in result["logs"]] == ["completed", "failed"]


async def test_stats_of_an_empty_window_are_zero(db: asyncpg.Connection) -> None:
    assert await stats(db) == {
        "time_range_hours": 24,
        "total_executions": 0,
        "by_status": {"completed": 0, "failed": 0, "partial": 0, "running": 0, "interrupted": 0},
        "success_rate": 0.0,
        "avg_duration_ms": None,
        "p95_duration_ms": None,
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "failed_nodes_breakdown": {},
    }


async def test_stats_count_partial_apart_from_failed(db: asyncpg.Connection) -> None:
    await seed_mixed_runs(db)
    result = await stats(db)
    assert result["total_executions"] == 5
    assert result["by_status"] == {
        "completed": 2,
        "failed": 1,
        "partial": 1,
        "running": 1,
        "interrupted": 0,
    }
    assert result["success_rate"] == 40.0
    assert result["avg_duration_ms"] == 250
    assert result["failed_nodes_breakdown"] == {"data_checker": 1, "multi_platform_orchestrator": 1}


async def test_success_rate_is_a_percentage_rounded_to_two_decimals(db: asyncpg.Connection) -> None:
    runs = [started() for _ in range(3)]
    await write(
        db, *[finished(r, status="completed") for r in runs[:2]], finished(runs[2], status="failed")
    )
    assert (await stats(db))["success_rate"] == 66.67


async def test_stats_respect_the_window(db: asyncpg.Connection) -> None:
    old = started(ago_s=30 * 3600)
    await write(db, finished(old), started())
    assert (await stats(db, 24))["total_executions"] == 1
    assert (await stats(db, 48))["total_executions"] == 2


async def test_breakdown_counts_a_node_once_per_run(db: asyncpg.Connection) -> None:
    twice, once = started(), started()
    await write(
        db,
        finished(twice, status="failed", failed_nodes=["data_checker", "data_checker", "writer"]),
        finished(once, status="partial", failed_nodes=["data_checker"]),
    )
    assert (await stats(db))["failed_nodes_breakdown"] == {"data_checker": 2, "writer": 1}


async def test_node_performance_counts_runs_failures_and_percentiles(
    db: asyncpg.Connection,
) -> None:
    runs = [started() for _ in range(4)]
    await write(
        db,
        *[finished(r) for r in runs[:3]],
        finished(runs[3], status="failed", failed_nodes=["data_checker"]),
    )
    nodes = {n["node"]: n for n in json.loads(await queries.node_performance(db, 24))["nodes"]}
    assert nodes["guardrail_check"]["runs"] == 4
    assert nodes["guardrail_check"]["failures"] == 0
    assert float(nodes["guardrail_check"]["p95_ms"]) == 10.0
    assert (nodes["data_checker"]["runs"], nodes["data_checker"]["failures"]) == (1, 1)
    assert float(nodes["data_checker"]["failure_rate"]) == 100.0


@pytest.mark.parametrize(
    "view",
    [
        "recent_executions",
        "execution_stats_hourly",
        "failed_node_breakdown",
        "node_performance_24h",
    ],
)
async def test_each_view_answers_a_psql_user(db: asyncpg.Connection, view: str) -> None:
    await seed_mixed_runs(db)
    rows = await db.fetch(f"SELECT * FROM {view} LIMIT 5")
    assert rows


async def test_recent_executions_leaves_out_the_heavy_columns(db: asyncpg.Connection) -> None:
    await seed_mixed_runs(db)
    row = await db.fetchrow("SELECT * FROM recent_executions LIMIT 1")
    assert "execution_trace" not in row.keys() and "response_message" not in row.keys()
