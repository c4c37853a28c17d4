"""What SECURITY DEFINER costs the read functions (migration 20261202000301).

    make bench-definer      # or: python -m bench.definer [--rows N] [--repeat N]

Loads `--rows` executions as bench/read.py does (100,000 by default). For each read
the API makes, a twin of its function is created as it was before the migration
(SECURITY INVOKER, the search_path it had, so a SQL function inlines again); the
function itself stays as the migration made it (SECURITY DEFINER, search_path
pg_catalog, execution_monitor, pg_temp). The two are then called alternately, call by
call (ABBA), `--repeat` times each after a warm-up, in the same database and the same
run, so that a busy machine weighs on both alike. The figures are medians; the ratio
is definer / before.
"""

import argparse
import asyncio
import math
import re
import statistics
import time

import asyncpg

from bench.common import print_table, scratch_database
from bench.read import SEARCH_PATH, load

FIXED_PATH = "SET search_path TO 'pg_catalog', 'execution_monitor', 'pg_temp'"
OLD_PATH = "SET search_path TO 'pg_catalog', 'execution_monitor', 'public'"
# (label, function, its search_path before the migration, the call with {f} for its name)
READS = (
    ("execution_stats(24)", "execution_stats", OLD_PATH, "SELECT {f}(24)"),
    ("execution_stats(168)", "execution_stats", OLD_PATH, "SELECT {f}(168)"),
    ("get_execution(id)", "get_execution", "", "SELECT {f}($1)"),
    ("list_executions_v2() (page + total)", "list_executions_v2", OLD_PATH, "SELECT {f}()"),
    ("node_performance_json(24)", "node_performance_json", OLD_PATH, "SELECT {f}(24)"),
    (
        "executions_changed_since(100 rows)",
        "executions_changed_since",
        "",
        "SELECT change_seq, execution::text FROM {f}(0, NULL, NULL, NULL, 100)",
    ),
    (
        "executions_by_ids(1 id; the API no longer calls it)",
        "executions_by_ids",
        "",
        "SELECT change_seq, execution::text FROM {f}(ARRAY[$1])",
    ),
)


async def create_twin(db: asyncpg.Connection, function: str, old_path: str) -> str:
    """A copy of `function` as before the migration; returns its qualified name."""
    definition = await db.fetchval(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p"
        " WHERE p.proname = $1 AND p.pronamespace = 'execution_monitor'::regnamespace",
        function,
    )
    assert " SECURITY DEFINER" in definition and FIXED_PATH in definition, function
    twin = f"{function}_before"
    definition = re.sub(
        rf"^CREATE OR REPLACE FUNCTION execution_monitor\.{function}\(",
        f"CREATE FUNCTION execution_monitor.{twin}(",
        definition,
    )
    # A SQL-standard body names its parameters by the function's name.
    definition = re.sub(rf"(?<![\w.]){function}\.", f"{twin}.", definition)
    definition = definition.replace(" SECURITY DEFINER", "").replace(FIXED_PATH, old_path)
    await db.execute(definition)
    return f"execution_monitor.{twin}"


async def alternate(
    db: asyncpg.Connection, calls: dict[str, str], arguments: tuple[str, ...], repeat: int
) -> dict[str, float]:
    """Median ms of each call, the calls alternating (ABBA) after a warm-up."""
    for sql in calls.values():
        for _ in range(5):
            await db.fetch(sql, *arguments)
    samples: dict[str, list[float]] = {form: [] for form in calls}
    forms = list(calls)
    for index in range(repeat):
        for form in forms if index % 2 == 0 else reversed(forms):
            began = time.perf_counter()
            await db.fetch(calls[form], *arguments)
            samples[form].append((time.perf_counter() - began) * 1000)
    return {form: statistics.median(values) for form, values in samples.items()}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()

    async with scratch_database("bench_definer") as url:
        db = await asyncpg.connect(url, server_settings=SEARCH_PATH)
        try:
            print(f"loading {args.rows:,} executions over {args.days} days", flush=True)
            await load(db, args.rows, args.days)
            one = await db.fetchval(
                "SELECT id FROM execution_logs WHERE started_at >= now() - interval '3 hours'"
                " LIMIT 1"
            )
            twins: dict[str, str] = {}
            for _, function, old_path, _ in READS:
                if function not in twins:
                    twins[function] = await create_twin(db, function, old_path)
            rows = [("read", "before (ms)", "SECURITY DEFINER (ms)", "ratio")]
            ratios = []
            for label, function, _, sql in READS:
                arguments = (one,) if "$1" in sql else ()
                calls = {
                    "before": sql.format(f=twins[function]),
                    "definer": sql.format(f=f"execution_monitor.{function}"),
                }
                medians = await alternate(db, calls, arguments, args.repeat)
                ratio = medians["definer"] / medians["before"]
                ratios.append(ratio)
                rows.append(
                    (label, f"{medians['before']:.3f}", f"{medians['definer']:.3f}", f"{ratio:.3f}")
                )
                print(f"  {label}: ratio {ratio:.3f}", flush=True)
            geometric = math.exp(statistics.fmean(math.log(ratio) for ratio in ratios))
            print_table(
                f"{args.rows:,} rows; medians of {args.repeat} calls of each form, alternating;"
                f" geometric mean ratio {geometric:.3f}",
                rows,
            )
        finally:
            await db.close()


if __name__ == "__main__":
    asyncio.run(main())
