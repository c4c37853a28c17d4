"""Read benchmark at 1,000,000 executions over 7 days.

    make bench-read            # or: python -m bench.read [--rows N] [--repeat N]

Loads the rows in SQL (generate_series), vacuums, then reports the median of
repeated runs of: a filtered list page, its total, the whole list_executions
call, stats for 24 h and for 168 h, and the per-node view.
"""

import argparse
import asyncio
import time

import asyncpg

from bench.common import median_ms, print_table, scratch_database

LOAD = """
INSERT INTO conversations (id, user_id)
SELECT 'conv-' || g, 'user-' || (g % 1000) FROM generate_series(0, 49999) AS g;

INSERT INTO execution_logs (id, conversation_id, user_id, request_message, response_message,
    status, started_at, completed_at, total_duration_ms, execution_trace, failed_nodes,
    error_summary)
SELECT
    md5(g::text)::uuid::text,
    'conv-' || (g % 50000),
    'user-' || (g % 1000),
    'Create a ' || (ARRAY['LinkedIn', 'Twitter', 'blog'])[1 + g % 3] || ' post about topic ' || g,
    CASE WHEN s <> 'running' THEN 'Here is your post about topic ' || g END,
    s,
    t,
    CASE WHEN s <> 'running' THEN t + make_interval(secs => d / 1000.0) END,
    CASE WHEN s <> 'running' THEN d END,
    jsonb_build_array(
        jsonb_build_object('node', 'guardrail_check', 'status', 'completed',
                           'execution_time_ms', 5 + g % 7, 'step', 1, 'attempt', 1),
        jsonb_build_object('node', 'intent_classifier', 'status', 'completed',
                           'execution_time_ms', 40 + g % 50, 'step', 2, 'attempt', 1),
        jsonb_build_object('node', 'data_checker',
                           'status', CASE WHEN s = 'failed' THEN 'failed' ELSE 'completed' END,
                           'execution_time_ms', 20 + g % 30, 'step', 3, 'attempt', 1),
        jsonb_build_object('node', 'multi_platform_orchestrator',
                           'status', CASE WHEN s = 'partial' THEN 'failed' ELSE 'completed' END,
                           'execution_time_ms', d / 2, 'step', 4, 'attempt', 1),
        jsonb_build_object('node', 'platform_writer', 'status', 'completed',
                           'execution_time_ms', d / 4, 'step', 5, 'attempt', 1),
        jsonb_build_object('node', 'response_writer', 'status', 'completed',
                           'execution_time_ms', 10 + g % 20, 'step', 6, 'attempt', 1)),
    CASE s WHEN 'failed' THEN '["data_checker"]'::jsonb
           WHEN 'partial' THEN '["multi_platform_orchestrator"]'::jsonb
           ELSE '[]'::jsonb END,
    CASE s WHEN 'failed' THEN '''NoneType'' object has no attribute ''get'''
           WHEN 'partial' THEN 'twitter: rate limited' END
FROM (
    SELECT g,
           now() - make_interval(secs => (g::double precision / $1) * 7 * 86400) AS t,
           CASE WHEN g % 100 < 84 THEN 'completed' WHEN g % 100 < 92 THEN 'partial'
                WHEN g % 100 < 98 THEN 'failed' ELSE 'running' END AS s,
           (200 + (g::bigint * 7919) % 4800)::integer AS d
    FROM generate_series(0, $1 - 1) AS g
) AS rows;
"""

PAGE = """
SELECT * FROM execution_logs
WHERE started_at >= now() - interval '24 hours' AND status = 'failed'
ORDER BY started_at DESC, id DESC LIMIT 50
"""
TOTAL = """
SELECT count(*) FROM execution_logs
WHERE started_at >= now() - interval '24 hours' AND status = 'failed'
"""


async def load(db: asyncpg.Connection, rows: int) -> float:
    began = time.perf_counter()
    # Loading a million rows is not a live write: no NOTIFY for it.
    await db.execute("ALTER TABLE execution_logs DISABLE TRIGGER USER")
    for statement in LOAD.split(";\n\n"):
        if "$1" in statement:
            await db.execute(statement, rows)
        else:
            await db.execute(statement)
    await db.execute("ALTER TABLE execution_logs ENABLE TRIGGER USER")
    await db.execute("VACUUM ANALYZE execution_logs")
    await db.execute("VACUUM ANALYZE conversations")
    return time.perf_counter() - began


EXPLAINED = {
    "list page": PAGE,
    "its total": TOTAL,
    "unfiltered total (24 h)": "SELECT count(*) FROM execution_logs "
    "WHERE started_at >= now() - interval '24 hours'",
    "stats scan (24 h)": "SELECT status, total_duration_ms FROM execution_logs "
    "WHERE started_at >= now() - interval '24 hours'",
    # the body of failed_nodes_breakdown(24), which EXPLAIN cannot see into
    "failed-node breakdown (24 h)": "SELECT f.node, count(*) FROM execution_logs l, LATERAL "
    "(SELECT DISTINCT n AS node FROM jsonb_array_elements_text(l.failed_nodes) AS n) AS f "
    "WHERE l.status::text = ANY ('{failed,partial}'::text[]) "
    "AND l.started_at >= now() - interval '24 hours' GROUP BY f.node",
    "text search": "SELECT count(*) FROM execution_logs WHERE execution_search_text("
    "request_message, response_message) ILIKE like_pattern('topic 4242')",
}


async def print_plans(db: asyncpg.Connection) -> None:
    """Which index each read path uses, so indexes are chosen by evidence."""
    for name, sql in EXPLAINED.items():
        plan = await db.fetch("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql)
        print(f"\n-- {name}")
        for row in plan:
            print("   " + row[0])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--explain", action="store_true", help="print the plan of each query (EXPLAIN ANALYZE) once"
    )
    args = parser.parse_args()

    async with scratch_database("bench_read") as url:
        db = await asyncpg.connect(url)
        seconds = await load(db, args.rows)
        in_24h = await db.fetchval(
            "SELECT count(*) FROM execution_logs WHERE started_at >= now() - interval '24 hours'"
        )
        print(
            f"loaded {args.rows:,} executions over 7 days in {seconds:.1f} s "
            f"({in_24h:,} in the last 24 h)"
        )

        cases = [
            ("list page (status=failed, 24 h, 50 rows)", lambda: db.fetch(PAGE), 5.0),
            ("its total (count for the filter)", lambda: db.fetchval(TOTAL), 50.0),
            (
                "list_executions(status=failed) page+total",
                lambda: db.fetchval("SELECT list_executions('failed')"),
                None,
            ),
            (
                "list_executions() unfiltered page+total",
                lambda: db.fetchval("SELECT list_executions()"),
                None,
            ),
            (
                "list_executions(user_id) page+total",
                lambda: db.fetchval("SELECT list_executions(p_user_id => 'user-7')"),
                None,
            ),
            (
                "list_executions(q='topic 4242')",
                lambda: db.fetchval("SELECT list_executions(p_q => 'topic 4242')"),
                None,
            ),
            ("execution_stats(24)", lambda: db.fetchval("SELECT execution_stats(24)"), 100.0),
            ("execution_stats(168)", lambda: db.fetchval("SELECT execution_stats(168)"), None),
            (
                "node_performance_24h view",
                lambda: db.fetch("SELECT * FROM node_performance_24h"),
                None,
            ),
            (
                "failed_node_breakdown view",
                lambda: db.fetch("SELECT * FROM failed_node_breakdown"),
                None,
            ),
        ]
        if args.explain:
            await print_plans(db)
        rows = [("query", "median ms", "target")]
        for name, run, target in cases:
            repeat = args.repeat if "168" not in name and "node_perf" not in name else 7
            ms = await median_ms(run, repeat)
            verdict = (
                ""
                if target is None
                else (f"< {target:g} ms " + ("ok" if ms < target else "MISSED"))
            )
            rows.append((name, f"{ms:.2f}", verdict))
        print_table(f"medians of {args.repeat} runs", rows)
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
