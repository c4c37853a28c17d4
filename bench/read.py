"""Read benchmark: the API's reads at 10,000,000 executions over 14 days.

    make bench-read            # or: python -m bench.read [--rows N] [--days D]
                               #     [--repeat N] [--burst N] [--explain] [--keep]
                               #     [--only REGEX]
    python -m bench.read --reuse URL   # measure a database loaded by --keep again
                                       # (after migrating it: new functions count)

Loads the rows in SQL (generate_series) into the real write path's tables, in
chunks: 5-node traces, 1,000 users, one conversation per 200 runs, 84% completed,
8% partial, 6% failed, 2% running. As a bulk load does, it drops the table's
indexes first and builds them again afterwards (the same definitions, read from
the catalog), then vacuums; the load bypasses the triggers, so the hourly rollups
are built from the rows afterwards (`rebuild_rollups()`). Then it reports the
median of repeated calls of each read the API makes: the listing
(`list_executions_v2`: the page with its total) for every filter the API has, one
execution by id, a conversation's listing, stats for 24 h and 168 h, per-node
performance for 24 h, the stats and per-node reads for the listing's filters, the
user filter's suggestions (`--only REGEX`: only the reads whose name matches).

Then a burst (`--burst`, 100,000 by default): that many runs started and then
finished through `log_batch_v2` (2,000 events per call, the writer's batch size),
autovacuum disabled on the table meanwhile, and the same reads measured again
before any vacuum (the visibility map of the recent pages is then stale, which
is what slows index-only scans).
"""

import argparse
import asyncio
import json
import random
import re
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from bench.common import median_ms, print_table, scratch_database
from langgraph_execution_monitor.events import ExecutionFinished, ExecutionStarted
from langgraph_execution_monitor.rows import TextCleaner, batch_columns
from langgraph_execution_monitor.storage import queries
from langgraph_execution_monitor.storage.migrate import migrate

SEARCH_PATH = {"search_path": "execution_monitor, public"}
USERS = 1_000
RUNS_PER_CONVERSATION = 200
CHUNK = 500_000
NODES = (
    "guardrail_check",
    "intent_classifier",
    "data_checker",
    "multi_platform_orchestrator",
    "response_writer",
)

CONVERSATIONS = """
INSERT INTO conversations (id, user_id)
SELECT 'conv-' || g, 'user-' || (g % $2) FROM generate_series(0, $1 - 1) AS g
"""

# $1 rows in all, $2 days, $3..$4 this chunk, $5 conversations, $6 users
ROWS = """
INSERT INTO execution_logs (id, conversation_id, user_id, request_message, response_message,
    status, started_at, completed_at, total_duration_ms, execution_trace, failed_nodes,
    error_summary, input_tokens, output_tokens, total_tokens, llm_calls)
SELECT
    -- half the ids UUIDv7 of their start (the library's own), half not (uuid4-like)
    CASE WHEN g % 2 = 0
         THEN (SELECT substr(x, 1, 8) || '-' || substr(x, 9, 4) || '-' || substr(x, 13, 4)
                      || '-' || substr(x, 17, 4) || '-' || substr(x, 21, 12)
               FROM (SELECT lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0')
                            || '7' || substr(md5(g::text), 14, 3)
                            || substr('89ab', 1 + (g / 2) % 4, 1)
                            || substr(md5(g::text), 18, 15) AS x) AS v)
         ELSE md5(g::text)::uuid::text END,
    'conv-' || (g % $5),
    'user-' || (g % $6),
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
        jsonb_build_object('node', 'response_writer', 'status', 'completed',
                           'execution_time_ms', 10 + g % 20, 'step', 5, 'attempt', 1)),
    CASE s WHEN 'failed' THEN '["data_checker"]'::jsonb
           WHEN 'partial' THEN '["multi_platform_orchestrator"]'::jsonb
           ELSE '[]'::jsonb END,
    CASE s WHEN 'failed' THEN '''NoneType'' object has no attribute ''get'''
           WHEN 'partial' THEN 'twitter: rate limited' END,
    CASE WHEN s <> 'running' THEN 300 + g % 500 END,
    CASE WHEN s <> 'running' THEN 100 + g % 300 END,
    CASE WHEN s <> 'running' THEN 400 + g % 500 + g % 300 END,
    CASE WHEN s <> 'running' THEN 2 END
FROM (
    SELECT g,
           now() - make_interval(secs => (g::double precision / $1) * $2 * 86400) AS t,
           CASE WHEN g % 100 < 84 THEN 'completed' WHEN g % 100 < 92 THEN 'partial'
                WHEN g % 100 < 98 THEN 'failed' ELSE 'running' END AS s,
           (200 + (g::bigint * 7919) % 4800)::integer AS d
    FROM generate_series($3, $4 - 1) AS g
) AS rows
"""

ROLLUP_TABLES = (
    "execution_rollups_hourly",
    "execution_durations_hourly",
    "node_rollups_hourly",
    "node_durations_hourly",
)

INDEXES = """
SELECT indexname, replace(indexdef, ' ON ONLY ', ' ON ') AS indexdef FROM pg_indexes
WHERE schemaname = 'execution_monitor' AND tablename = 'execution_logs'
  AND indexname <> 'execution_logs_pkey'
ORDER BY indexname
"""

PRIMARY_KEY = """
SELECT pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = 'execution_logs'::regclass AND conname = 'execution_logs_pkey'
"""

# A partitioned table (20261207000200): the loaded days' partitions, and the days
# ahead as maintenance makes them, so that no row waits in the default partition.
DAY_PARTITIONS = """
SELECT count(create_execution_logs_partition(d::date))
FROM generate_series((now() - make_interval(days => $1 + 1))::date,
                     (now() + interval '3 days')::date, interval '1 day') AS d
"""
PARTITIONED = "SELECT to_regprocedure('execution_monitor.create_execution_logs_partition(date)')"

# The table's storage: the table itself, or its partitions.
LEAVES = """
SELECT c.oid::regclass::text FROM pg_class AS c
WHERE c.oid IN (SELECT relid FROM pg_partition_tree('execution_logs') WHERE isleaf)
   OR (c.oid = 'execution_logs'::regclass AND c.relkind = 'r')
"""


async def load(db: asyncpg.Connection, rows: int, days: int) -> dict[str, float]:
    """Bulk-load `rows` executions; returns seconds per phase."""
    phases: dict[str, float] = {}
    began = time.perf_counter()
    conversations = max(1, rows // RUNS_PER_CONVERSATION)
    # A bulk load, not live writes: no NOTIFY, no per-row foreign-key checks
    # (the conversations exist), indexes built once at the end.
    await db.execute("SET session_replication_role = replica")
    await db.execute("SET maintenance_work_mem = '1GB'")
    if await db.fetchval(PARTITIONED) is not None:
        await db.fetchval(DAY_PARTITIONS, days)
    indexes = await db.fetch(INDEXES)
    primary_key = await db.fetchval(PRIMARY_KEY)
    for index in indexes:
        await db.execute(f"DROP INDEX execution_monitor.{index['indexname']}")
    await db.execute("ALTER TABLE execution_logs DROP CONSTRAINT execution_logs_pkey")
    await db.execute(CONVERSATIONS, conversations, USERS)
    for start in range(0, rows, CHUNK):
        await db.execute(ROWS, rows, days, start, min(rows, start + CHUNK), conversations, USERS)
        print(
            f"  {min(rows, start + CHUNK):,} rows, {time.perf_counter() - began:.0f} s", flush=True
        )
    phases["insert"] = time.perf_counter() - began
    mark = time.perf_counter()
    await db.execute(f"ALTER TABLE execution_logs ADD CONSTRAINT execution_logs_pkey {primary_key}")
    for index in indexes:
        began_index = time.perf_counter()
        await db.execute(index["indexdef"])
        print(f"  {index['indexname']}: {time.perf_counter() - began_index:.0f} s", flush=True)
    phases["indexes"] = time.perf_counter() - mark
    mark = time.perf_counter()
    await db.execute("RESET session_replication_role")
    await db.execute("VACUUM ANALYZE execution_logs")
    await db.execute("VACUUM ANALYZE conversations")
    phases["vacuum"] = time.perf_counter() - mark
    # The load bypassed the triggers that keep the rollups: build them from the rows.
    mark = time.perf_counter()
    await db.execute("SELECT rebuild_rollups()")
    for table in ROLLUP_TABLES:
        await db.execute(f"VACUUM ANALYZE {table}")
    phases["rollups"] = time.perf_counter() - mark
    return phases


def start_of(now: float, index: int) -> ExecutionStarted:
    return ExecutionStarted(
        str(uuid.uuid4()),
        f"burst-conv-{index // 20}",
        f"user-{index % USERS}",
        f"Create a LinkedIn post about burst topic {index}",
        now - random.uniform(0, 3600),
    )


def finish_of(start: ExecutionStarted) -> ExecutionFinished:
    t = start.started_at
    trace: list[dict[str, Any]] = [
        {
            "node": node,
            "status": "completed",
            "execution_time_ms": 10.0 * (step + 1),
            "timestamp": t + 0.01 * (step + 1),
            "started_at": t + 0.01 * step,
            "step": step + 1,
            "parent": None,
            "attempt": 1,
        }
        for step, node in enumerate(NODES)
    ]
    return ExecutionFinished(
        *start[:5],
        completed_at=t + 0.05,
        status="completed",
        response_message="Here is your post",
        execution_trace=trace,
        failed_nodes=[],
        error_summary=None,
    )


async def burst(db: asyncpg.Connection, runs: int, batch: int = 2_000) -> float:
    """`runs` starts, then their finishes, through log_batch_v2; seconds taken."""
    began = time.perf_counter()
    cleaner = TextCleaner(65_536)
    now = time.time()
    starts = [start_of(now, index) for index in range(runs)]
    for events in (starts, [finish_of(start) for start in starts]):
        for offset in range(0, runs, batch):
            columns, _ = batch_columns(list(events[offset : offset + batch]), cleaner)
            await queries.log_batch_v2(db, columns)
    return time.perf_counter() - began


Case = tuple[str, Callable[[], Awaitable[object]], float | None, int]


async def cases(db: asyncpg.Connection, repeat: int) -> list[Case]:
    """Every read the API makes; the listing for every filter it has."""
    one = await db.fetchrow(
        "SELECT id, conversation_id, user_id FROM execution_logs "
        "WHERE started_at >= now() - interval '3 hours' AND status = 'failed' LIMIT 1"
    )
    deep = await db.fetchval(
        "SELECT encode_listing_cursor(started_at, id) FROM execution_logs "
        "WHERE started_at < now() - interval '7 days' ORDER BY started_at DESC LIMIT 1"
    )
    first = await db.fetchval("SELECT list_executions_v2() ->> 'next_cursor'")
    uuid7 = "'^[0-9a-f]{8}-[0-9a-f]{4}-7'"
    one_uuid7, one_other = [
        await db.fetchval(
            "SELECT id FROM execution_logs WHERE started_at >= now() - interval '3 hours'"
            f" AND id {match} {uuid7} LIMIT 1"
        )
        for match in ("~", "!~")
    ]

    def listing(**arguments: Any) -> Callable[[], Awaitable[object]]:
        named = ", ".join(f"p_{name} => ${index + 1}" for index, name in enumerate(arguments))
        sql = f"SELECT list_executions_v2({named})::text"
        values = list(arguments.values())
        return lambda: db.fetchval(sql, *values)

    def filtered(function: str, **arguments: Any) -> Callable[[], Awaitable[object]]:
        named = ", ".join(f"p_{name} => ${index + 1}" for index, name in enumerate(arguments))
        sql = f"SELECT {function}({named})::text"
        values = list(arguments.values())
        return lambda: db.fetchval(sql, *values)

    epoch = await db.fetchval("SELECT timestamptz '1970-01-01 00:00Z'")
    ten_days = await db.fetchval("SELECT now() - interval '10 days'")
    nine_days = await db.fetchval("SELECT now() - interval '9 days'")
    day = 86400.0
    list_target, heavy = 20.0, 5
    return [
        ("list: default (24 h)", listing(), list_target, repeat),
        ("list: hours=168", listing(hours=168), list_target, repeat),
        ("list: status=failed", listing(status="failed"), list_target, repeat),
        ("list: status=running", listing(status="running"), list_target, repeat),
        ("list: user_id", listing(user_id=one["user_id"]), list_target, repeat),
        ("list: user_id_prefix (11 users)", listing(user_id_prefix="user-12"), list_target, repeat),
        ("list: user_id_prefix (all users)", listing(user_id_prefix="user-"), list_target, repeat),
        (
            "list: conversation_id",
            listing(conversation_id=one["conversation_id"]),
            list_target,
            repeat,
        ),
        ("list: q rare ('topic 4242')", listing(q="topic 4242"), list_target, repeat),
        ("list: q error summary ('NoneType')", listing(q="NoneType"), list_target, repeat),
        ("list: q failed node ('data_checker')", listing(q="data_checker"), list_target, repeat),
        ("list: q id (8 chars of one)", listing(q=one["id"][:8]), list_target, repeat),
        (
            "list: q rare, 14 days (since)",
            listing(q="topic 4242", since=await db.fetchval("SELECT now() - interval '15 days'")),
            list_target,
            repeat,
        ),
        (
            "list: since/until (one day, 10 days ago)",
            listing(
                since=await db.fetchval("SELECT now() - interval '10 days'"),
                until=await db.fetchval("SELECT now() - interval '9 days'"),
            ),
            list_target,
            repeat,
        ),
        (
            "list: since 15 days (whole table)",
            listing(since=await db.fetchval("SELECT now() - make_interval(secs => $1)", 15 * day)),
            list_target,
            repeat,
        ),
        ("list: before=next_cursor (page 2)", listing(before=first), list_target, repeat),
        ("list: before=cursor 7 days back", listing(before=deep), list_target, repeat),
        ("list: offset=5000", listing(offset=5000), list_target, repeat),
        (
            "list: status+user_id",
            listing(status="failed", user_id=one["user_id"]),
            list_target,
            repeat,
        ),
        (
            "list_executions() v1, exact total (24 h)",
            lambda: db.fetchval("SELECT list_executions()::text"),
            None,
            heavy,
        ),
        (
            "get by id (UUIDv7)",
            lambda: db.fetchval("SELECT get_execution($1)::text", one_uuid7),
            2.0,
            repeat,
        ),
        (
            "get by id (other id)",
            lambda: db.fetchval("SELECT get_execution($1)::text", one_other),
            2.0,
            repeat,
        ),
        (
            "conversation listing",
            lambda: db.fetchval(
                "SELECT list_conversation_executions($1)::text", one["conversation_id"]
            ),
            5.0,
            repeat,
        ),
        ("stats 24 h", lambda: db.fetchval("SELECT execution_stats(24)::text"), 20.0, heavy),
        ("stats 168 h", lambda: db.fetchval("SELECT execution_stats(168)::text"), 20.0, heavy),
        (
            "node performance 24 h",
            lambda: db.fetchval("SELECT node_performance_json(24)::text"),
            30.0,
            heavy,
        ),
        # The overview for the listing's filters (issue 12): no target was set; rollups
        # when only a start is given, the window's matching rows otherwise.
        *(
            (f"{label}: {what}", filtered(function, **arguments), None, heavy)
            for function, label in (
                ("execution_stats_filtered", "filtered stats"),
                ("node_performance_filtered", "filtered nodes"),
            )
            for what, arguments in (
                ("all time, no filter (rollups)", {"since": epoch}),
                ("24 h, status=failed", {"hours": 24, "status": "failed"}),
                ("24 h, user_id_prefix (11 users)", {"hours": 24, "user_id_prefix": "user-12"}),
                ("24 h, q 'NoneType'", {"hours": 24, "q": "NoneType"}),
                ("one day 10 days ago, no filter", {"since": ten_days, "until": nine_days}),
                ("168 h, status=failed", {"hours": 168, "status": "failed"}),
            )
        ),
        (
            "user suggestions ('user-1', 20)",
            lambda: db.fetchval("SELECT user_id_suggestions('user-1', 20)::text"),
            None,
            repeat,
        ),
    ]


async def measure(
    title: str, db: asyncpg.Connection, repeat: int, explain: bool, only: str | None = None
) -> None:
    rows = [("read", "median ms", "target")]
    for name, run, target, times in await cases(db, repeat):
        if only and not re.search(only, name):
            continue
        ms = await median_ms(run, times, warmup=2)
        verdict = (
            "" if target is None else f"< {target:g} ms " + ("ok" if ms < target else "MISSED")
        )
        rows.append((name, f"{ms:.2f}", verdict))
    print_table(title, rows)
    if explain:
        await print_plans(db)


EXPLAINED = {
    "list page, default window": "SELECT * FROM execution_logs l "
    "WHERE l.started_at >= now() - interval '24 hours' "
    "ORDER BY l.started_at DESC, l.id DESC LIMIT 51",
    "capped total, default window": "SELECT count(*) FROM (SELECT FROM execution_logs l "
    "WHERE l.started_at >= now() - interval '24 hours' LIMIT 10001) AS c",
    "q (rare)": "SELECT count(*) FROM execution_logs l WHERE l.started_at >= now() - interval "
    "'24 hours' AND execution_search_text_v2(l.id, l.conversation_id, l.user_id, "
    "l.request_message, l.response_message, l.error_summary, l.failed_nodes) "
    "ILIKE like_pattern('topic 4242')",
    "user_id_prefix": "SELECT * FROM execution_logs l WHERE l.started_at >= now() - interval "
    "'24 hours' AND l.user_id LIKE like_prefix_pattern('user-12') "
    "ORDER BY l.started_at DESC, l.id DESC LIMIT 51",
    # The rows the filtered stats read (execution_stats_filtered's raw path).
    "filtered stats, 24 h, status=failed": "SELECT l.status, l.total_duration_ms, "
    "l.failed_nodes FROM execution_logs l WHERE l.started_at >= now() - interval '24 hours' "
    "AND l.status = 'failed'",
    "filtered stats, 24 h, user_id_prefix": "SELECT l.status, l.total_duration_ms, "
    "l.failed_nodes FROM execution_logs l WHERE l.started_at >= now() - interval '24 hours' "
    "AND l.user_id LIKE 'user-12%'",
}


PLANNED = {
    "by id, every partition": "SELECT * FROM execution_logs WHERE id = 'x'",
    "by id and an hour (one partition)": "SELECT * FROM execution_logs WHERE id = 'x'"
    " AND started_at >= now() - interval '1 hour' AND started_at < now()",
    "conversation listing": "SELECT * FROM execution_logs WHERE conversation_id = 'conv-1'"
    " ORDER BY started_at, id LIMIT 20",
    "list page, default window": EXPLAINED["list page, default window"],
    "changes after a change_seq (the stream)": "SELECT * FROM execution_logs"
    " WHERE change_seq > 0 ORDER BY change_seq LIMIT 1000",
    "100 ids (the listener's fetch)": "SELECT * FROM execution_logs WHERE id = ANY("
    "ARRAY(SELECT md5(g::text) FROM generate_series(1, 100) AS g))",
}


async def print_planning(db: asyncpg.Connection, repeat: int = 20) -> None:
    """The planning time of a few statements (what partitions add to every query)."""
    leaves = len(await db.fetch(LEAVES))
    rows = [("statement", "planning ms (median)")]
    for name, sql in PLANNED.items():
        samples = []
        for _ in range(repeat):
            plan = json.loads(await db.fetchval("EXPLAIN (SUMMARY, FORMAT JSON) " + sql))
            samples.append(plan[0]["Planning Time"])
        rows.append((name, f"{statistics.median(samples):.3f}"))
    print_table(f"planning, {leaves} table(s) under execution_logs", rows)


async def print_plans(db: asyncpg.Connection) -> None:
    """Which index each read path uses, so indexes are chosen by evidence."""
    for name, sql in EXPLAINED.items():
        plan = await db.fetch("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql)
        print(f"\n-- {name}")
        for row in plan:
            print("   " + row[0])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--burst", type=int, default=100_000, help="finishes before re-measuring")
    parser.add_argument(
        "--explain", action="store_true", help="print the plan of each query (EXPLAIN ANALYZE) once"
    )
    parser.add_argument("--keep", action="store_true", help="keep the loaded database")
    parser.add_argument("--reuse", metavar="URL", help="a database --keep loaded: measure only")
    parser.add_argument("--only", metavar="REGEX", help="measure only the reads so named")
    args = parser.parse_args()

    if args.reuse:
        migrate(args.reuse)
        await run(args, args.reuse, loaded=True)
        return
    async with scratch_database("bench_read", keep=args.keep) as url:
        await run(args, url, loaded=False)
        if args.keep:
            print(f"\nkept: python -m bench.read --reuse '{url}'")


async def run(args: argparse.Namespace, url: str, *, loaded: bool) -> None:
    db = await asyncpg.connect(url, server_settings=SEARCH_PATH)
    try:
        if not loaded:
            print(f"loading {args.rows:,} executions over {args.days} days", flush=True)
            phases = await load(db, args.rows, args.days)
            print(
                f"loaded in {sum(phases.values()):.0f} s (rows {phases['insert']:.0f} s, indexes "
                f"{phases['indexes']:.0f} s, vacuum {phases['vacuum']:.0f} s, rollups "
                f"{phases['rollups']:.0f} s)"
            )
        rows = await db.fetchval("SELECT count(*) FROM execution_logs")
        in_24h = await db.fetchval(
            "SELECT count(*) FROM execution_logs WHERE started_at >= now() - interval '24 hours'"
        )
        size = await db.fetchval(
            "SELECT pg_size_pretty(sum(pg_total_relation_size(t::regclass)))"
            f" FROM ({LEAVES}) AS l(t)"
        )
        print(f"{rows:,} executions, {in_24h:,} in the last 24 h; table with indexes {size}")
        await print_planning(db)
        await measure(
            f"medians of {args.repeat} runs (heavy reads: 5)",
            db,
            args.repeat,
            args.explain,
            args.only,
        )

        if args.burst:
            leaves = [row[0] for row in await db.fetch(LEAVES)]
            for leaf in leaves:  # a partitioned table has no storage parameters of its own
                await db.execute(f"ALTER TABLE {leaf} SET (autovacuum_enabled = false)")
            seconds = await burst(db, args.burst)
            print(f"\nburst: {args.burst:,} runs started and finished in {seconds:.1f} s")
            await measure("after the burst, before any vacuum", db, args.repeat, False, args.only)
            for leaf in leaves:
                await db.execute(f"ALTER TABLE {leaf} RESET (autovacuum_enabled)")
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
