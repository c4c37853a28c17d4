"""Ingest benchmark: executions per second, enqueue to committed row.

    make bench-ingest          # or: python -m bench.ingest [--seconds 60] [--rate 1000]
                               #     [--latency-seconds 20] [--max-rate 0]

A real `LogWriter` (its defaults: batches of 2,000, two connections sharded by
execution id) writes into a scratch database on DATABASE_URL's server (or an
embedded one). Producers in the same process enqueue what the monitor would
enqueue for a 5-node run: a start, then later its finish with a 5-entry trace.
A finish is enqueued only once the writer has taken its start into a batch,
so start and finish never merge into one INSERT (the harder case); the report
checks that from the rows the writer changed (2 per run when they never merge).

Phase 1, sustained throughput (`--seconds`): producers keep the writer's queue
topped up (as fast as the writer goes, or `--max-rate` runs/s). Executions/s is
finished rows committed per second over the window after a 5 s warm-up, read
from the writer's committed-event counter and cross-checked by a count in the
database. The process's RSS is sampled every 5 s: it should stay flat.

Phase 2, freshness at a fixed rate (`--rate`, `--latency-seconds`): the time
from a finish's enqueue to its commit, observed as the NOTIFY of the finished
row on a LISTEN connection (sent by the table's trigger at commit), p50/p99.

`--spool`: phase 1 again with the writer's local spool on (`SPOOL_DIR`, a
temporary directory), in the same process run, and the cost side by side.

`--compare-locked`: both phases for three writers side by side, each in a scratch
database of its own, in the same process run (two writer connections each):
  main     the schema before the lock-free migrations (20261207*, rolled back
           with their own `migrate:down`): log_batch_v4 with the global lock and
           rollups upserted in place;
  locked   today's schema, written through log_batch_v4 (the previous releases'
           writer, still taking the global lock), rollups appended as deltas;
  unlocked today's schema and writer, log_batch_v5 (no global lock);
  no rollups  as unlocked, with the rollup triggers disabled: what the rollups'
           upkeep costs ingest (issue 10: < 10%).
"""

import argparse
import asyncio
import json
import os
import resource
import statistics
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench.common import percentile, print_table, scratch_database
from langgraph_execution_monitor.capture import new_execution_id
from langgraph_execution_monitor.events import ExecutionFinished, ExecutionStarted
from langgraph_execution_monitor.storage import queries
from langgraph_execution_monitor.storage.migrate import dbmate, migrations_dir
from langgraph_execution_monitor.writer import BatchWrite, LogWriter, writer_pool_factory

NODES = (
    "guardrail_check",
    "intent_classifier",
    "data_checker",
    "multi_platform_orchestrator",
    "response_writer",
)
MESSAGE = "Create a LinkedIn post about AI"
RESPONSE = "Here is your LinkedIn post:\n[LinkedIn, professional] Demo User on AI: " + "x" * 120

THROUGHPUT_TARGET = 5_000  # executions/s
LOCK_FREE_TARGET = 15_000  # executions/s with two writer connections (issue 10)
LOCK_FREE_MIGRATIONS = "20261207"  # the migrations `main` is measured without
ROLLUP_UPKEEP_TARGET = 0.10  # of ingest (issue 10)
LATENCY_TARGET_MS = 250.0  # p99 finish -> committed, at 1,000 executions/s
RSS_GROWTH_LIMIT_MB = 20.0  # "flat": growth beyond noise


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def finish_of(start: ExecutionStarted) -> ExecutionFinished:
    t = start.started_at
    trace: list[dict[str, Any]] = [
        {
            "node": node,
            "status": "completed",
            "execution_time_ms": 0.2,
            "timestamp": t + 0.0002 * (step + 1),
            "started_at": t + 0.0002 * step,
            "step": step + 1,
            "parent": None,
            "attempt": 1,
        }
        for step, node in enumerate(NODES)
    ]
    return ExecutionFinished(
        start.execution_id,
        start.conversation_id,
        start.user_id,
        start.request_message,
        t,
        t + 0.001,
        "completed",
        RESPONSE,
        trace,
        [],
        None,
    )


class Producer:
    """Enqueues starts, and each finish once its start is in a batch."""

    def __init__(self, writer: LogWriter, max_rate: float, high_water: int) -> None:
        self.writer = writer
        self.max_rate = max_rate  # runs/s; 0: as fast as the writer takes them
        self.high_water = high_water  # events waiting, as fast as possible mode
        self.unfinished: deque[tuple[int, ExecutionStarted]] = deque()
        self.finish_enqueued_at: dict[str, float] = {}
        self.track_finishes = False
        self.runs = 0
        self.running = True

    async def run(self) -> None:
        writer = self.writer
        began = time.perf_counter()
        user = 0
        while self.running:
            # Finishes whose start the writer has taken into a batch already.
            taken = writer.stats.queued - writer.waiting
            while self.unfinished and self.unfinished[0][0] <= taken:
                _, start = self.unfinished.popleft()
                if writer.enqueue(finish_of(start)) and self.track_finishes:
                    self.finish_enqueued_at[start.execution_id] = time.perf_counter()
            if self.max_rate:
                due = int((time.perf_counter() - began) * self.max_rate) - self.runs
            else:
                due = self.high_water - writer.waiting
            for _ in range(max(0, due)):
                user = (user + 1) % 1000
                start = ExecutionStarted(
                    new_execution_id(), None, f"user-{user}", MESSAGE, time.time()
                )
                if writer.enqueue(start):
                    self.unfinished.append((writer.stats.queued, start))
                self.runs += 1
            await asyncio.sleep(0.002)

    async def finish_all(self) -> None:
        self.running = False
        while self.unfinished:
            taken = self.writer.stats.queued - self.writer.waiting
            while self.unfinished and self.unfinished[0][0] <= taken:
                self.writer.enqueue(finish_of(self.unfinished.popleft()[1]))
            await asyncio.sleep(0.005)


async def finished_rows(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM execution_monitor.execution_logs WHERE status <> 'running'"
        )
    finally:
        await connection.close()


async def throughput(
    url: str,
    seconds: float,
    max_rate: float,
    spool_dir: str | None = None,
    write_batch: BatchWrite | None = None,
    compact_s: float | None = 5.0,
) -> dict[str, Any]:
    writer = LogWriter(
        writer_pool_factory(url, 2),
        stale_after_s=None,
        spool_dir=spool_dir,
        write_batch=write_batch,
        rollup_compact_interval_s=compact_s,
    )
    writer.start()
    producer = Producer(writer, max_rate, high_water=3 * writer.batch_size)
    task = asyncio.create_task(producer.run())
    warmup = min(5.0, seconds / 4)
    began = time.perf_counter()
    samples: list[tuple[float, int, float]] = []  # (t, written, rss)
    await asyncio.sleep(warmup)
    db_before = await finished_rows(url)
    window_began = time.perf_counter()
    written_before = writer.stats.written
    while (now := time.perf_counter()) - began < seconds:
        samples.append((now - began, writer.stats.written, rss_mb()))
        await asyncio.sleep(min(5.0, seconds - (now - began)))
    window_s = time.perf_counter() - window_began
    written_in_window = writer.stats.written - written_before
    db_after = await finished_rows(url)
    samples.append((time.perf_counter() - began, writer.stats.written, rss_mb()))
    producer.running = False
    await task
    await producer.finish_all()
    await writer.stop(30)
    stats = writer.stats
    runs_written = (stats.written) / 2
    return {
        "window_s": window_s,
        "exec_per_s_counter": written_in_window / 2 / window_s,
        "exec_per_s_db": (db_after - db_before) / window_s,
        "samples": samples,
        "rss_growth_mb": samples[-1][2] - samples[1][2] if len(samples) > 2 else 0.0,
        "rows_per_run": stats.rows_changed / runs_written if runs_written else 0.0,
        "batches": stats.batches,
        "mean_batch_events": stats.written / stats.batches if stats.batches else 0.0,
        "write_ms_p50": statistics.median(stats.write_latencies_ms),
        "dropped": stats.dropped,
        "failed_to_log": stats.failed_to_log,
        "retries": stats.retries,
        "queued": stats.queued,
        "written": stats.written,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


async def freshness(
    url: str,
    seconds: float,
    rate: float,
    write_batch: BatchWrite | None = None,
    compact_s: float | None = 5.0,
) -> dict[str, Any]:
    writer = LogWriter(
        writer_pool_factory(url, 2),
        stale_after_s=None,
        write_batch=write_batch,
        rollup_compact_interval_s=compact_s,
    )
    writer.start()
    producer = Producer(writer, rate, high_water=0)
    producer.track_finishes = True
    latencies_ms: list[float] = []

    def on_notify(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        seen = time.perf_counter()
        for execution_id, status, _seq in json.loads(payload):
            if status != "running":
                enqueued = producer.finish_enqueued_at.pop(execution_id, None)
                if enqueued is not None:
                    latencies_ms.append((seen - enqueued) * 1000)

    listener = await asyncpg.connect(url)
    await listener.add_listener("execution_events", on_notify)
    task = asyncio.create_task(producer.run())
    await asyncio.sleep(seconds)
    producer.running = False
    await task
    await producer.finish_all()
    await writer.stop(30)
    await asyncio.sleep(0.2)
    await listener.close()
    return {
        "runs": producer.runs,
        "observed": len(latencies_ms),
        "p50": percentile(latencies_ms, 0.50),
        "p99": percentile(latencies_ms, 0.99),
        "max": max(latencies_ms),
        "rate": producer.runs / seconds,
    }


def roll_back_lock_free_migrations(url: str) -> int:
    """Back to main's schema (the lock-free migrations undone, newest first)."""
    undone = sorted(
        path.name
        for path in migrations_dir().glob("*.sql")
        if path.name.startswith(LOCK_FREE_MIGRATIONS)
    )
    for _ in undone:
        dbmate(url, "rollback")
    return len(undone)


@dataclass(frozen=True)
class Writer:
    name: str
    write_batch: BatchWrite
    main_schema: bool = False  # the lock-free migrations rolled back
    rollups: bool = True

    @property
    def compact_s(self) -> float | None:
        return 5.0 if self.rollups and not self.main_schema else None  # deltas to fold

    @asynccontextmanager
    async def database(self) -> AsyncIterator[str]:
        async with scratch_database("elm_bench_ingest") as url:
            if self.main_schema:
                roll_back_lock_free_migrations(url)
            if not self.rollups:
                connection = await asyncpg.connect(url)
                try:
                    await connection.execute(DISABLE_ROLLUP_TRIGGERS)
                finally:
                    await connection.close()
            yield url


# The write path's rollup upkeep, left out (as bench.write_cost's variant does).
DISABLE_ROLLUP_TRIGGERS = """
ALTER TABLE execution_monitor.execution_logs DISABLE TRIGGER execution_logs_rollup_insert;
ALTER TABLE execution_monitor.execution_logs DISABLE TRIGGER execution_logs_rollup_update;
"""
WRITERS = (
    Writer("main", queries.log_batch_v4, main_schema=True),
    Writer("locked", queries.log_batch_v4),
    Writer("unlocked", queries.log_batch_v5),
    Writer("no rollups", queries.log_batch_v5, rollups=False),
)


async def compare_locked(args: argparse.Namespace) -> None:
    """Both phases for each writer of WRITERS, side by side: the throughput phase
    `--rounds` times, the writers in turn within each round (so that the machine's
    load weighs on all of them alike), then the freshness phase once each."""
    runs: dict[str, list[dict[str, Any]]] = {writer.name: [] for writer in WRITERS}
    fresh: dict[str, dict[str, Any]] = {}
    for _ in range(args.rounds):
        for writer in WRITERS:
            async with writer.database() as url:
                result = await throughput(
                    url,
                    args.seconds,
                    args.max_rate,
                    write_batch=writer.write_batch,
                    compact_s=writer.compact_s,
                )
            runs[writer.name].append(result)
    for writer in WRITERS:
        async with writer.database() as url:
            fresh[writer.name] = await freshness(
                url, args.latency_seconds, args.rate, writer.write_batch, writer.compact_s
            )
    # The round with the median throughput stands for each writer.
    results = {
        name: (sorted(done, key=lambda r: r["exec_per_s_db"])[len(done) // 2], fresh[name])
        for name, done in runs.items()
    }
    names = [writer.name for writer in WRITERS]
    unlocked = results["unlocked"][0]["exec_per_s_db"]
    upkeep = 1 - unlocked / results["no rollups"][0]["exec_per_s_db"]
    print_table(
        f"Ingest side by side, two writer connections ({args.rounds} rounds of"
        f" {args.seconds:.0f} s per writer; medians)",
        [
            ("measure", *names, "target"),
            (
                "executions/s per round",
                *(" ".join(f"{r['exec_per_s_db']:,.0f}" for r in runs[n]) for n in names),
                "",
            ),
            (
                "executions/s (rows finished in the DB)",
                *(f"{results[n][0]['exec_per_s_db']:,.0f}" for n in names),
                f">= {LOCK_FREE_TARGET:,} unlocked: "
                + ("PASS" if unlocked >= LOCK_FREE_TARGET else "FAIL"),
            ),
            (
                "log_batch call p50 (ms)",
                *(f"{results[n][0]['write_ms_p50']:.1f}" for n in names),
                "",
            ),
            (
                "rows changed per run",
                *(f"{results[n][0]['rows_per_run']:.3f}" for n in names),
                "2",
            ),
            (
                "dropped / failed-to-log / retries",
                *(
                    f"{results[n][0]['dropped']} / {results[n][0]['failed_to_log']}"
                    f" / {results[n][0]['retries']}"
                    for n in names
                ),
                "0 / 0 / -",
            ),
            (
                f"finish -> committed p50 at {args.rate:,.0f} runs/s (ms)",
                *(f"{results[n][1]['p50']:.1f}" for n in names),
                "",
            ),
            (
                f"finish -> committed p99 at {args.rate:,.0f} runs/s (ms)",
                *(f"{results[n][1]['p99']:.1f}" for n in names),
                f"< {LATENCY_TARGET_MS:.0f}",
            ),
        ],
    )
    print(
        f"rollup upkeep: {upkeep:.0%} of the lock-free writer's ingest"
        f" (1 - unlocked / no rollups; target < {ROLLUP_UPKEEP_TARGET:.0%})"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="throughput phase")
    parser.add_argument("--max-rate", type=float, default=0.0, help="0: as fast as possible")
    parser.add_argument("--rate", type=float, default=1000.0, help="freshness phase, runs/s")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--spool", action="store_true", help="phase 1 again with the spool")
    parser.add_argument(
        "--compare-locked",
        action="store_true",
        help="main's locked writer, today's locked one and the lock-free one, side by side",
    )
    parser.add_argument("--rounds", type=int, default=3, help="--compare-locked's rounds")
    args = parser.parse_args()
    if args.compare_locked:
        await compare_locked(args)
        return

    async with scratch_database("elm_bench_ingest") as url:
        result = await throughput(url, args.seconds, args.max_rate)
    if args.spool:
        with tempfile.TemporaryDirectory(prefix="elm-bench-spool-") as spool_dir:
            async with scratch_database("elm_bench_ingest") as url:
                spooled = await throughput(url, args.seconds, args.max_rate, spool_dir)
        print_table(
            "The spool's cost (phase 1 without, then with SPOOL_DIR)",
            [
                ("measure", "no spool", "spool"),
                (
                    "executions/s (rows finished in the DB)",
                    f"{result['exec_per_s_db']:,.0f}",
                    f"{spooled['exec_per_s_db']:,.0f}",
                ),
                (
                    "log_batch call p50 (ms)",
                    f"{result['write_ms_p50']:.1f}",
                    f"{spooled['write_ms_p50']:.1f}",
                ),
                (
                    "dropped / failed-to-log",
                    f"{result['dropped']} / {result['failed_to_log']}",
                    f"{spooled['dropped']} / {spooled['failed_to_log']}",
                ),
            ],
        )
    print_table(
        f"Throughput over {result['window_s']:.0f} s (after warm-up); RSS every 5 s",
        [("t (s)", "events written", "RSS (MB)")]
        + [(f"{t:.1f}", str(w), f"{r:.1f}") for t, w, r in result["samples"]],
    )
    async with scratch_database("elm_bench_ingest") as url:
        fresh = await freshness(url, args.latency_seconds, args.rate)

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    exec_per_s = result["exec_per_s_db"]
    print_table(
        "Ingest (start and finish as separate events)",
        [
            ("measure", "value", "target", ""),
            (
                "executions/s (rows finished in the DB)",
                f"{exec_per_s:,.0f}",
                f">= {THROUGHPUT_TARGET:,}",
                verdict(exec_per_s >= THROUGHPUT_TARGET),
            ),
            (
                "executions/s (writer's committed counter)",
                f"{result['exec_per_s_counter']:,.0f}",
                "",
                "",
            ),
            (
                "rows changed per run (2 = start and finish never merged)",
                f"{result['rows_per_run']:.3f}",
                "2",
                verdict(result["rows_per_run"] > 1.95),
            ),
            (
                "RSS growth over the run (MB)",
                f"{result['rss_growth_mb']:+.1f}",
                f"< {RSS_GROWTH_LIMIT_MB:.0f}",
                verdict(result["rss_growth_mb"] < RSS_GROWTH_LIMIT_MB),
            ),
            ("events per batch (mean)", f"{result['mean_batch_events']:.0f}", "", ""),
            ("log_batch call p50 (ms)", f"{result['write_ms_p50']:.1f}", "", ""),
            (
                "dropped / failed-to-log / retries",
                f"{result['dropped']} / {result['failed_to_log']} / {result['retries']}",
                "0 / 0 / -",
                verdict(result["dropped"] == 0 and result["failed_to_log"] == 0),
            ),
            (
                f"finish -> committed p50 at {fresh['rate']:,.0f} runs/s (ms)",
                f"{fresh['p50']:.1f}",
                "",
                "",
            ),
            (
                f"finish -> committed p99 at {fresh['rate']:,.0f} runs/s (ms)",
                f"{fresh['p99']:.1f}",
                f"< {LATENCY_TARGET_MS:.0f}",
                verdict(fresh["p99"] < LATENCY_TARGET_MS),
            ),
            ("finishes observed / runs", f"{fresh['observed']} / {fresh['runs']}", "", ""),
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
