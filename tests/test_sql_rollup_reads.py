"""The stats, the failed-node breakdown and the per-node view read from the rollups give
the answers of the raw computation: counts, sums, rates and averages exactly,
percentiles within the histogram's stated error."""

import json
import random
from datetime import timedelta

import asyncpg
import pytest

from langgraph_execution_monitor.storage import queries
from tests.factories import finished, started, write, write_shuffled

# The histogram's stated error (migration 20261202000200): within a factor 2^(1/8) of the
# exact percentile for values of 1 ms and more, within 1 ms below; then the read rounds
# (stats to whole ms, nodes to 0.001 ms).
FACTOR = 2 ** (1 / 8)

# The reads as they were before the rollups (migration 20261201000003): the oracle.
RAW_STATS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'partial') AS partial,
       count(*) FILTER (WHERE status = 'running') AS running,
       count(*) FILTER (WHERE status = 'interrupted') AS interrupted,
       CASE WHEN count(*) = 0 THEN 0.0
            ELSE round(100.0 * count(*) FILTER (WHERE status = 'completed') / count(*), 2)
       END AS success_rate,
       round(avg(total_duration_ms))::integer AS avg_duration_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY total_duration_ms) AS p95,
       coalesce(sum(input_tokens), 0) AS input_tokens,
       coalesce(sum(output_tokens), 0) AS output_tokens,
       coalesce(sum(total_tokens), 0) AS total_tokens
FROM execution_logs
WHERE started_at >= $1::timestamptz
"""
RAW_BREAKDOWN = """
SELECT f.node, count(*) AS failed_runs
FROM execution_logs AS l,
     LATERAL (SELECT DISTINCT n.value AS node
              FROM jsonb_array_elements_text(l.failed_nodes) AS n) AS f
WHERE l.status IN ('failed', 'partial') AND l.started_at >= $1::timestamptz
GROUP BY f.node
ORDER BY count(*) DESC, f.node
"""
RAW_NODES = """
SELECT t.entry ->> 'node' AS node,
       count(*) AS runs,
       count(*) FILTER (WHERE t.entry ->> 'status' = 'failed') AS failures,
       round(100.0 * count(*) FILTER (WHERE t.entry ->> 'status' = 'failed') / count(*), 2)
           AS failure_rate,
       round(avg((t.entry ->> 'execution_time_ms')::numeric), 3) AS avg_ms,
       percentile_cont(0.50) WITHIN GROUP
           (ORDER BY (t.entry ->> 'execution_time_ms')::double precision) AS p50,
       percentile_cont(0.95) WITHIN GROUP
           (ORDER BY (t.entry ->> 'execution_time_ms')::double precision) AS p95,
       percentile_cont(0.99) WITHIN GROUP
           (ORDER BY (t.entry ->> 'execution_time_ms')::double precision) AS p99
FROM execution_logs AS l, LATERAL jsonb_array_elements(l.execution_trace) AS t(entry)
WHERE l.started_at >= $1::timestamptz
  AND jsonb_typeof(l.execution_trace) = 'array'
GROUP BY t.entry ->> 'node'
ORDER BY count(*) DESC, t.entry ->> 'node'
"""


def as_float(value: object) -> float | None:
    """A node's percentile (None when none of its entries has a duration)."""
    return None if value is None else float(value)  # type: ignore[arg-type]


def within_stated_error(estimate: float | None, exact: float | None, rounding: float) -> bool:
    if exact is None or estimate is None:
        return estimate is None and exact is None
    return exact / FACTOR - 1 - rounding <= estimate <= exact * FACTOR + 1 + rounding


@pytest.mark.parametrize("seed", [1, 2])
async def test_reads_from_rollups_match_the_raw_computation_on_random_runs(
    db: asyncpg.Connection, seed: int
) -> None:
    await write_shuffled(db, random.Random(seed), 400)
    # Window starts on an hour boundary, either side of the half hour, and a week back.
    for hours, minutes in ((1, 0), (1, 10), (7, 29), (24, 31), (59, 50), (168, 17)):
        async with db.transaction():  # one now() for both sides
            since = await db.fetchval(
                "SELECT date_trunc('hour', now(), 'UTC') - make_interval(hours => $1, mins => $2)",
                hours,
                -minutes,
            )
            stats = json.loads(await db.fetchval("SELECT execution_stats_since($1)::text", since))
            raw = await db.fetchrow(RAW_STATS, since)
            raw_breakdown = await db.fetch(RAW_BREAKDOWN, since)
            breakdown = await db.fetch("SELECT * FROM failed_nodes_breakdown_since($1)", since)
            nodes = await db.fetch("SELECT * FROM node_performance_since($1)", since)
            raw_nodes = await db.fetch(RAW_NODES, since)
        assert stats["total_executions"] == raw["total"] > 0
        assert stats["by_status"] == {
            status: raw[status]
            for status in ("completed", "failed", "partial", "running", "interrupted")
        }
        assert stats["success_rate"] == float(raw["success_rate"])
        assert stats["avg_duration_ms"] == raw["avg_duration_ms"]
        assert within_stated_error(stats["p95_duration_ms"], raw["p95"], 0.5), (stats, raw)
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            assert stats[key] == raw[key]
        assert stats["failed_nodes_breakdown"] == {r["node"]: r["failed_runs"] for r in breakdown}
        assert [tuple(r) for r in breakdown] == [tuple(r) for r in raw_breakdown]

        assert [n["node"] for n in nodes] == [r["node"] for r in raw_nodes]
        for node, exact in zip(nodes, raw_nodes, strict=True):
            assert tuple(node)[:5] == tuple(exact)[:5]  # node, runs, failures, rate, avg
            for key, exact_key in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
                assert within_stated_error(as_float(node[key]), exact[exact_key], 0.0005), (
                    dict(node),
                    dict(exact),
                )


def bounded(raw: str) -> str:
    """An oracle query for [$1, $2) ($1 NULL: from the first run)."""
    return raw.replace(
        "started_at >= $1::timestamptz",
        "started_at >= coalesce($1::timestamptz, '-infinity') AND started_at < $2::timestamptz",
    )


@pytest.mark.parametrize("seed", [3, 4])
async def test_windows_with_an_end_read_from_rollups_match_the_raw_computation(
    db: asyncpg.Connection, seed: int
) -> None:
    await write_shuffled(db, random.Random(seed), 400)
    # (start, end) in minutes before the current hour (None: no start): both edges
    # either side of the half hour, within one hour, in adjacent hours, a day apart.
    for since_min, until_min in (
        (60 * 24, 0),
        (60 * 24 + 10, 60 * 5 - 40),
        (60 * 7 - 29, 60 * 7 - 31),
        (60 * 3 + 50, 60 * 3 + 5),
        (60 * 2 + 10, 60 * 1 + 50),
        (60 * 30 + 45, 60 * 20 + 15),
        (None, 60 * 40 + 20),
    ):
        async with db.transaction():
            since, until = await db.fetchrow(
                "SELECT date_trunc('hour', now(), 'UTC') - make_interval(mins => $1),"
                "       date_trunc('hour', now(), 'UTC') - make_interval(mins => $2)",
                since_min,
                until_min,
            )
            stats = json.loads(
                await db.fetchval("SELECT execution_stats_between($1, $2)::text", since, until)
            )
            raw = await db.fetchrow(bounded(RAW_STATS), since, until)
            breakdown = await db.fetch(
                "SELECT * FROM failed_nodes_breakdown_between($1, $2)", since, until
            )
            raw_breakdown = await db.fetch(bounded(RAW_BREAKDOWN), since, until)
            nodes = await db.fetch("SELECT * FROM node_performance_between($1, $2)", since, until)
            raw_nodes = await db.fetch(bounded(RAW_NODES), since, until)
        window = (since_min, until_min)
        if since_min is None or since_min - until_min >= 180:
            assert raw["total"] > 0, window  # the comparison is not of empty windows
        assert stats["total_executions"] == raw["total"], window
        assert stats["by_status"] == {
            status: raw[status]
            for status in ("completed", "failed", "partial", "running", "interrupted")
        }, window
        assert stats["avg_duration_ms"] == raw["avg_duration_ms"], window
        assert within_stated_error(stats["p95_duration_ms"], raw["p95"], 0.5), (window, stats)
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            assert stats[key] == raw[key], window
        assert [tuple(r) for r in breakdown] == [tuple(r) for r in raw_breakdown], window
        assert [n["node"] for n in nodes] == [r["node"] for r in raw_nodes], window
        for node, exact in zip(nodes, raw_nodes, strict=True):
            assert tuple(node)[:5] == tuple(exact)[:5], window
            for key, exact_key in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
                assert within_stated_error(as_float(node[key]), exact[exact_key], 0.0005), window


# Edges as (minutes, seconds) past an hour, one for each way node_rollup_edge reads a
# window's edge (migration 20261207000400): the rows of the partial 5-minute slot added
# or subtracted, the slots of the partial hour added or subtracted, on a slot boundary.
EDGES_IN_AN_HOUR = ((7, 10), (13, 0), (31, 0), (33, 0), (51, 30), (57, 40), (20, 0))


@pytest.mark.parametrize("seed", [6, 7])
async def test_node_reads_match_the_raw_computation_for_edges_inside_five_minute_slots(
    db: asyncpg.Connection, seed: int
) -> None:
    rng = random.Random(seed)
    await write_shuffled(db, rng, 400, span_s=4 * 3600)  # about 8 runs per 5 minutes
    windows: list[tuple[int, int]] = []  # seconds before the current hour
    for first in EDGES_IN_AN_HOUR:
        for second in EDGES_IN_AN_HOUR:
            since = 3 * 3600 - (60 * first[0] + first[1])
            until = 3600 - (60 * second[0] + second[1])
            windows.append((since, until))  # two hours apart
            if first < second:  # within one hour
                windows.append((since - 3600, until))
    windows.append((3 * 3600 - 200, 3 * 3600 - 210))  # ten seconds
    for since_s, until_s in windows:
        async with db.transaction():
            since, until = await db.fetchrow(
                "SELECT date_trunc('hour', now(), 'UTC') - make_interval(secs => $1),"
                "       date_trunc('hour', now(), 'UTC') - make_interval(secs => $2)",
                since_s,
                until_s,
            )
            nodes = await db.fetch("SELECT * FROM node_performance_between($1, $2)", since, until)
            raw_nodes = await db.fetch(bounded(RAW_NODES), since, until)
        window = (since_s, until_s)
        assert [n["node"] for n in nodes] == [r["node"] for r in raw_nodes], window
        for node, exact in zip(nodes, raw_nodes, strict=True):
            assert tuple(node)[:5] == tuple(exact)[:5], window
            for key, exact_key in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
                assert within_stated_error(as_float(node[key]), exact[exact_key], 0.0005), window


async def test_an_edge_reads_at_most_six_slots_and_two_and_a_half_minutes_of_rows(
    db: asyncpg.Connection,
) -> None:
    edges = await db.fetch(
        "SELECT g.at, e.* FROM generate_series(timestamptz '2026-12-07 09:58:01+00',"
        " timestamptz '2026-12-07 12:02:00+00', interval '7 seconds') AS g(at),"
        " node_rollup_edge(g.at) AS e ORDER BY g.at"
    )
    for edge in edges:
        assert edge["raw_hi"] - edge["raw_lo"] <= timedelta(seconds=150), dict(edge)
        assert edge["fine_hi"] - edge["fine_lo"] <= timedelta(minutes=30), dict(edge)
        assert edge["hour_from"].minute == edge["hour_from"].second == 0, dict(edge)
    # monotonic: a window's hours [hour_from(since), hour_from(until)) are never reversed
    hours = [edge["hour_from"] for edge in edges]
    assert hours == sorted(hours)


async def test_the_public_reads_keep_the_seed_shape(db: asyncpg.Connection) -> None:
    await write_shuffled(db, random.Random(5), 50)
    async with db.transaction():
        stats = json.loads(await queries.execution_stats(db, 24))
        since_now = json.loads(
            await db.fetchval("SELECT execution_stats_since(now() - interval '24 hours')::text")
        )
        nodes = json.loads(await queries.node_performance(db, 24))
    assert stats == {"time_range_hours": 24, **since_now}
    assert list(stats) == list(json.loads(json.dumps(stats)))
    assert {"total_executions", "by_status", "success_rate", "avg_duration_ms"} <= set(stats)
    assert set(nodes) == {"time_range_hours", "nodes"}
    assert set(nodes["nodes"][0]) == {
        "node",
        "runs",
        "failures",
        "failure_rate",
        "avg_ms",
        "p50_ms",
        "p95_ms",
        "p99_ms",
    }


async def test_a_percentile_of_one_repeated_value_is_exact(db: asyncpg.Connection) -> None:
    runs = [started() for _ in range(4)]
    await write(db, *[finished(r, duration_s=0.25) for r in runs])
    nodes = {n["node"]: n for n in json.loads(await queries.node_performance(db, 24))["nodes"]}
    assert float(nodes["guardrail_check"]["p99_ms"]) == 10.0
    assert json.loads(await queries.execution_stats(db, 24))["p95_duration_ms"] == 250


async def test_the_node_read_starts_no_parallel_workers_however_cheap_the_planner_finds_them(
    db: asyncpg.Connection,
) -> None:
    # Starting workers costs more than this small read (measured at 10M runs: 5-7 ms
    # of 12), so the read keeps to its backend even where parallel plans are cheap.
    await write_shuffled(db, random.Random(7), 200, span_s=2 * 3600)
    await db.execute("ANALYZE")
    plans: list[str] = []
    db.add_log_listener(lambda _connection, message: plans.append(message.message))
    for setting in (
        "parallel_setup_cost = 0",
        "parallel_tuple_cost = 0",
        "min_parallel_table_scan_size = 0",
        "min_parallel_index_scan_size = 0",
        "enable_indexscan = off",
        "enable_bitmapscan = off",
        "client_min_messages = log",
        "auto_explain.log_min_duration = 0",
        "auto_explain.log_nested_statements = on",
    ):
        await db.execute(f"SET {setting}")
    await db.execute("LOAD 'auto_explain'")
    await db.fetch("SELECT * FROM node_performance_between(now() - interval '90 minutes', now())")
    await db.execute("RESET client_min_messages")
    logged = "\n".join(plans)
    assert "node_entries_5min" in logged  # the plans were seen
    assert "Gather" not in logged


@pytest.mark.parametrize("function", ["node_performance_between", "node_performance_filtered"])
async def test_the_node_reads_run_without_jit(db: asyncpg.Connection, function: str) -> None:
    # Compiling their trace parsing cost more than it saved (twice the time at 10M
    # runs); set on the function, so that a call from psql gets it too.
    config = await db.fetchval(
        "SELECT proconfig FROM pg_proc WHERE proname = $1"
        " AND pronamespace = 'execution_monitor'::regnamespace",
        function,
    )
    assert "jit=off" in config
