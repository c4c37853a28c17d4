"""Which monitored runs have the writer's work inside them (quiet machine only).

    python -m bench.overlap [--workload react] [--rounds 60]

Runs the workload of `bench/overhead.py` unmonitored and monitored (a real `LogWriter`
on a scratch database, sharing the event loop), 50 runs of each per round, and times
the writer's conversion slices and batch encoding as they happen. For each run it
reports how much of that work fell inside the run, so that the slow runs can be told
apart: those the writer held up, and those slow for another reason.
"""

import argparse
import asyncio
import gc
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from bench.common import percentile, scratch_database
from bench.overhead import react, trivial, written
from langgraph_execution_monitor import writer as writer_module
from langgraph_execution_monitor.capture import ExecutionMonitor

busy: list[tuple[float, float]] = []  # (start, end) of writer work on the loop


def timed(function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            busy.append((began, time.perf_counter()))

    return wrapper


async def measure(
    workload: str, rounds: int, collect: bool = True
) -> dict[str, list[tuple[float, float]]]:
    writer_module.LogWriter._convert_slice = timed(writer_module.LogWriter._convert_slice)  # type: ignore[method-assign]
    writer_module.rows_to_json = timed(writer_module.rows_to_json)
    async with scratch_database("elm_bench_overlap") as url:
        writer = writer_module.LogWriter(
            writer_module.writer_pool_factory(url, 2), stale_after_s=None
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

        runs: dict[str, list[tuple[float, float]]] = {"plain": [], "monitor": []}
        if not collect:
            gc.disable()  # collections only between rounds
        for _ in range(rounds):
            for variant in runs:
                graph.__class__ = plain if variant == "plain" else monitored
                for _ in range(50):
                    seen = len(busy)
                    began = time.perf_counter()
                    await graph.ainvoke(given(), config)
                    ended = time.perf_counter()
                    inside = sum(
                        min(ended, end) - max(began, start)
                        for start, end in busy[seen:]
                        if end > began and start < ended
                    )
                    runs[variant].append(((ended - began) * 1e6, inside * 1e6))
                await written(writer)
            gc.collect()
        gc.enable()
        await writer.stop(10)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=["trivial", "react"], default="react")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--no-gc", action="store_true", help="no collections during the runs")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    for variant, samples in asyncio.run(
        measure(args.workload, args.rounds, not args.no_gc)
    ).items():
        latencies = [latency for latency, _ in samples]
        p99 = percentile(latencies, 0.99)
        slowest = [inside for latency, inside in samples if latency >= p99]
        hit = [inside for _, inside in samples if inside > 0]
        print(
            f"{args.workload} {variant}: median {statistics.median(latencies):.0f} us, "
            f"p99 {p99:.0f} us; runs with writer work inside: {len(hit)}/{len(samples)} "
            f"(mean {statistics.fmean(hit) if hit else 0:.0f} us, most {max(hit, default=0):.0f} "
            f"us); of the slowest 1%: {sum(1 for inside in slowest if inside > 0)}/{len(slowest)}"
        )


if __name__ == "__main__":
    main()
