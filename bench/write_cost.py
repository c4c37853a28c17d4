"""Where a batch's server time goes: `log_batch_v5` timed with the write path's
indexes and triggers, and with one of them left out, alternated in one session.

    python -m bench.write_cost [--runs 1000] [--rounds 6] [--response-chars 190]

Small batches (`--runs 8`: an app's flush of 50 ms at 160 runs/s) show the fixed cost
of a call; large ones the cost per run.

A scratch database (DATABASE_URL's server, or an embedded one) is migrated and
given a few batches first. Each round times, for every variant, three batches of
`--runs` runs (5-entry traces, as bench/ingest.py makes them):

- merged: each run's start and finish in one batch (one INSERT per run);
- starts: the starts alone (INSERTs of running rows);
- finishes: those runs' finishes (UPDATEs of the started rows).

Variants: everything; without the rollup triggers (`ALTER TABLE ... DISABLE TRIGGER`);
without the trigram search index (dropped for the variant, built again after); with
pglz compression (the writer's sessions use lz4 where the server has it); with
the batch's statements planned on every call (`plan_cache_mode = force_custom_plan`,
as before migration 20261207000300), whose "share" is then what the plan cache saves
(negative: it costs that much more).

Measured per batch: the wall time (it includes the commit's WAL flush, which waits
on the disk, not on a CPU) and the CPU time of the server process that ran it (from
/proc/<pid>/schedstat, when the server runs on this machine: what the batch takes
from the machine's cores, and from an app sharing them). Reported: the median and
the mean per batch over the rounds after the first, and each part's share of the
full mean (the trigram index's pending list is merged into the index by whichever
batch fills it, so single batches are spiky: the mean carries that cost, use 10
rounds or more).
"""

import argparse
import asyncio
import random
import statistics
import time
from typing import Any

import asyncpg

import bench.ingest as ingest
from bench.common import print_table, scratch_database
from langgraph_execution_monitor.capture import new_execution_id
from langgraph_execution_monitor.events import ExecutionStarted
from langgraph_execution_monitor.rows import TextCleaner, event_rows, rows_to_json
from langgraph_execution_monitor.writer import prepare_writer_connection

ROLLUP_TRIGGERS = ("execution_logs_rollup_insert", "execution_logs_rollup_update")
SEARCH_INDEX = "idx_execution_search_prefix"
BATCH_FUNCTION = "execution_monitor.log_batch_v5(jsonb)"
WORDS = "the model answered with a post about agents tools graphs state memory".split()


def starts(count: int) -> list[ExecutionStarted]:
    now = time.time()
    return [
        ExecutionStarted(
            new_execution_id(), f"conv-{i % 50}", f"user-{i % 20}", ingest.MESSAGE, now, None
        )
        for i in range(count)
    ]


def batch(events: list[Any]) -> str:
    rows, unconvertible = event_rows(events, TextCleaner(100_000))
    assert not unconvertible
    return rows_to_json(rows)


def merged_batch(runs: int) -> str:
    """New runs, each start and finish in the batch (one INSERT per run)."""
    return batch([ingest.finish_of(s) for s in starts(runs)])


def server_cpu_s(pid: int) -> float | None:
    """CPU time a server process has run (None when it is not on this machine)."""
    try:
        with open(f"/proc/{pid}/schedstat") as stat:
            return int(stat.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


async def timed_ms(db: asyncpg.Connection, events: str) -> tuple[float, float | None]:
    """A batch's wall time and its server process's CPU time, in ms."""
    pid = db.get_server_pid()
    cpu = server_cpu_s(pid)
    began = time.perf_counter()
    await db.fetchrow("SELECT * FROM execution_monitor.log_batch_v5($1::jsonb)", events)
    wall = (time.perf_counter() - began) * 1000
    after = server_cpu_s(pid)
    return wall, None if cpu is None or after is None else (after - cpu) * 1000


async def search_index_definition(db: asyncpg.Connection) -> str:
    return await db.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'execution_monitor' AND indexname = $1",
        SEARCH_INDEX,
    )


def variants(index_definition: str, compression: str) -> dict[str, tuple[str, str]]:
    """name -> (SQL that leaves the part out, SQL that puts it back)."""
    table = "execution_monitor.execution_logs"
    ways = {
        "everything": ("", ""),
        "no rollup triggers": (
            "; ".join(f"ALTER TABLE {table} DISABLE TRIGGER {t}" for t in ROLLUP_TRIGGERS),
            "; ".join(f"ALTER TABLE {table} ENABLE TRIGGER {t}" for t in ROLLUP_TRIGGERS),
        ),
        "no trigram index": (f"DROP INDEX execution_monitor.{SEARCH_INDEX}", index_definition),
        "planned per call": (
            f"ALTER FUNCTION {BATCH_FUNCTION} SET plan_cache_mode = force_custom_plan",
            f"ALTER FUNCTION {BATCH_FUNCTION} SET plan_cache_mode = force_generic_plan",
        ),
    }
    if compression == "lz4":  # the writer's sessions compress with lz4 where they can
        ways["pglz compression"] = (
            "SET default_toast_compression = pglz",
            "SET default_toast_compression = lz4",
        )
    return ways


Samples = dict[tuple[str, str], list[tuple[float, float | None]]]


async def measure(url: str, runs: int, rounds: int) -> Samples:
    db = await asyncpg.connect(url)
    await prepare_writer_connection(db)
    compression = await db.fetchval("SHOW default_toast_compression")
    try:
        for _ in range(3):  # a table that is not empty
            await timed_ms(db, merged_batch(runs))
        ways = variants(await search_index_definition(db), compression)
        samples: Samples = {}
        for _ in range(rounds):
            for name, (leave_out, put_back) in ways.items():
                if leave_out:
                    await db.execute(leave_out)
                # Untimed: DDL invalidates the session's cached plans, and the next
                # call plans again; that is not the variant's cost.
                await timed_ms(db, merged_batch(runs))
                merged = merged_batch(runs)
                started = starts(runs)
                batches: dict[str, str] = {
                    "merged": merged,
                    "starts": batch(started),
                    "finishes": batch([ingest.finish_of(s) for s in started]),
                }
                for kind, events in batches.items():
                    samples.setdefault((kind, name), []).append(await timed_ms(db, events))
                if put_back:
                    await db.execute(put_back)
        return samples
    finally:
        await db.close()


def report(samples: Samples, runs: int, chars: int) -> None:
    for index, what in ((0, "wall time"), (1, "server CPU time")):
        rows: list[tuple[str, ...]] = [
            ("batch", "variant", "median ms", "mean ms", "part's share (of the mean)")
        ]
        for kind in ("merged", "starts", "finishes"):
            full = statistics.fmean(_of(samples[(kind, "everything")], index))
            for (each, name), values in samples.items():
                if each != kind:
                    continue
                kept = _of(values, index)
                if not kept:
                    continue
                mean = statistics.fmean(kept)
                share = "" if name == "everything" else f"{(full - mean) / full * 100:.0f}%"
                rows.append((kind, name, f"{statistics.median(kept):.2f}", f"{mean:.2f}", share))
        if len(rows) > 1:
            print_table(
                f"log_batch_v5 {what}, {runs} runs per batch, {chars}-character responses", rows
            )


def _of(values: list[tuple[float, float | None]], index: int) -> list[float]:
    """One measure of the rounds after the first (None: not measured)."""
    kept = [value[index] for value in values[1:]]
    return [value for value in kept if value is not None]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--response-chars", type=int, default=len(ingest.RESPONSE))
    args = parser.parse_args()
    words = random.Random(1)
    text = ""
    while len(text) < args.response_chars:
        text += words.choice(WORDS) + " "
    ingest.RESPONSE = text[: args.response_chars]  # what finish_of answers
    async with scratch_database("elm_bench_write_cost") as url:
        samples = await measure(url, args.runs, args.rounds)
    report(samples, args.runs, args.response_chars)


if __name__ == "__main__":
    asyncio.run(main())
