"""Which monitored runs have the writer's work inside them (quiet machine only).

    python -m bench.overlap [--workload react] [--rounds 60]

Runs the workload of `bench/overhead.py` unmonitored and monitored (a real `LogWriter`
on a scratch database, sharing the event loop), 50 runs of each per round, and times
the writer's conversion slices and batch encoding as they happen. For each run it
reports how much of that work fell inside the run, and of the time a batch was at
PostgreSQL and of garbage collections, so that the slow runs can be told apart: those
the writer held up, those the database's work slowed (on a 2-core machine it shares
the app's CPU at times: `--database-cpu 1` keeps it on CPU 1), and the others.
"""

import argparse
import asyncio
import gc
import os
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from bench.common import percentile, scratch_database
from bench.overhead import pin_backend, react, trivial, written
from langgraph_execution_monitor import writer as writer_module
from langgraph_execution_monitor.capture import ExecutionMonitor

busy: list[tuple[float, float]] = []  # (start, end) of writer work on the loop
in_flight: list[list[float]] = []  # [start, end] of each batch at PostgreSQL
collecting: list[tuple[float, float]] = []  # (start, end) of each garbage collection
_gc_began = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_began[0] = time.perf_counter()
    else:
        collecting.append((_gc_began[0], time.perf_counter()))


def overlap(spans: list[Any], seen: int, began: float, ended: float) -> float:
    """How much of the spans since index `seen` fell between began and ended."""
    return sum(
        min(ended, end) - max(began, start)
        for start, end in spans[seen:]
        if end > began and start < ended
    )


def timed(function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            busy.append((began, time.perf_counter()))

    return wrapper


def timed_async(function: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        span = [time.perf_counter(), float("inf")]  # still at the server
        in_flight.append(span)
        try:
            return await function(*args, **kwargs)
        finally:
            span[1] = time.perf_counter()

    return wrapper


async def measure(
    workload: str, rounds: int, collect: bool = True, database_cpu: int | None = None
) -> dict[str, list[tuple[float, float]]]:
    writer_module.LogWriter._convert_slice = timed(writer_module.LogWriter._convert_slice)  # type: ignore[method-assign]
    writer_module.rows_to_json = timed(writer_module.rows_to_json)
    writer_module.queries.log_batch_v4 = timed_async(writer_module.queries.log_batch_v4)
    gc.callbacks.append(_on_gc)
    async with scratch_database("elm_bench_overlap") as url:
        writer = writer_module.LogWriter(
            writer_module.writer_pool_factory(
                url, 2, None if database_cpu is None else pin_backend(database_cpu)
            ),
            stale_after_s=None,
        )
        writer.start()
        graph = react() if workload == "react" else trivial()
        plain = type(graph)
        ExecutionMonitor(emit=writer.enqueue).instrument(graph)
        monitored = type(graph)
        config = {"configurable": {"thread_id": "bench", "user_id": "bench"}}

        def given() -> dict[str, Any]:
            if workload == "react":
                return {"messages": [("user", "Weather and population of Paris?")]}
            return {"message": "hi", "n": 0}

        runs: dict[str, list[tuple[float, ...]]] = {"plain": [], "monitor": []}
        if not collect:
            gc.disable()  # collections only between rounds
        for _ in range(rounds):
            for variant in runs:
                graph.__class__ = plain if variant == "plain" else monitored
                for _ in range(50):
                    seen = len(busy), len(in_flight), len(collecting)
                    began = time.perf_counter()
                    await graph.ainvoke(given(), config)
                    ended = time.perf_counter()
                    runs[variant].append(
                        (
                            (ended - began) * 1e6,
                            overlap(busy, seen[0], began, ended) * 1e6,
                            overlap(in_flight, max(0, seen[1] - 2), began, ended) * 1e6,
                            overlap(collecting, seen[2], began, ended) * 1e6,
                        )
                    )
                await written(writer)
            gc.collect()
        gc.enable()
        await writer.stop(10)
    gc.callbacks.remove(_on_gc)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=["trivial", "react"], default="react")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--no-gc", action="store_true", help="no collections during the runs")
    parser.add_argument(
        "--database-cpu", type=int, metavar="N", help="as bench.overhead's --database-cpu"
    )
    args = parser.parse_args()
    if args.database_cpu is not None:
        os.sched_setaffinity(0, os.sched_getaffinity(0) - {args.database_cpu})
    warnings.filterwarnings("ignore")
    for variant, samples in asyncio.run(
        measure(args.workload, args.rounds, not args.no_gc, args.database_cpu)
    ).items():
        latencies = [sample[0] for sample in samples]
        p99 = percentile(latencies, 0.99)
        slowest = [sample for sample in samples if sample[0] >= p99]
        print(
            f"{args.workload} {variant}: median {statistics.median(latencies):.0f} us, "
            f"p99 {p99:.0f} us, {len(samples)} runs"
        )
        for column, what in (
            (1, "writer work on the loop"),
            (2, "a batch at PostgreSQL"),
            (3, "a garbage collection"),
        ):
            hit = [sample[column] for sample in samples if sample[column] > 0]
            among = [sample for sample in slowest if sample[column] > 0]
            mean = statistics.fmean(hit) if hit else 0
            print(
                f"  runs with {what} inside: {len(hit)} (mean {mean:.0f} us, most "
                f"{max(hit, default=0):.0f} us); of the slowest 1%: {len(among)}/{len(slowest)}"
            )
        for what, chosen in (
            ("none of these", lambda s: not any(s[1:])),
            ("a batch at PostgreSQL, no writer work", lambda s: s[2] > 0 and s[1] == 0),
            ("writer work, no batch at PostgreSQL", lambda s: s[1] > 0 and s[2] == 0),
        ):
            picked = [sample[0] for sample in samples if chosen(sample)]
            if picked:
                print(
                    f"  runs with {what}: {len(picked)}, median "
                    f"{statistics.median(picked):.0f} us, p99 {percentile(picked, 0.99):.0f} us"
                )


if __name__ == "__main__":
    main()
