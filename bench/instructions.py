"""Capture overhead in CPU instructions, counted by valgrind (callgrind): the same
number on a quiet machine and on a busy one, so it can be compared across commits.

    python -m bench.instructions [--runs 200] [--workload trivial] [--variant otel]

Each variant runs in its own process under callgrind twice, with `--runs` and with
three times as many graph runs; the difference divided by the extra runs is the cost
of one run, start-up excluded. Variants, for the trivial 5-node graph and the prebuilt
ReAct agent of `bench/overhead.py`: plain (no monitoring); capture (the monitor with a
sink that does nothing); monitor (the monitor handing events to a real `LogWriter`'s
enqueue: its buffer, without a database, so only the hot path is counted); converted
(the monitor, and the writer's conversion of every event into the rows it sends: all
the writer does on the event loop but the database round trip); otel (OpenTelemetry
SDK spans, as in `bench/overhead.py`: a span per node and one per run for the trivial
graph, OpenInference's LangChain instrumentor for the agent; its export thread counted).
Wall-clock overhead is larger than the instruction overhead (cache misses and
allocation the counter does not weigh): `bench/overhead.py` measures that.
"""

import argparse
import asyncio
import shutil
import subprocess
import sys
import warnings
from typing import Any

VARIANTS = ("plain", "capture", "monitor", "converted", "otel")
WORKLOADS = ("trivial", "react")


def child(workload: str, variant: str, runs: int) -> None:
    warnings.filterwarnings("ignore")
    import bench.overhead
    from bench.overhead import react, trivial
    from langgraph_execution_monitor.capture import ExecutionMonitor
    from langgraph_execution_monitor.rows import TextCleaner, event_rows, rows_to_json
    from langgraph_execution_monitor.writer import LogWriter

    graph = trivial() if workload == "trivial" else react()
    events: list[object] = []
    clean = TextCleaner(4000)
    provider: Any = None
    if variant == "capture":
        graph = ExecutionMonitor(emit=lambda event: None).instrument(graph)
    elif variant == "monitor":

        async def no_pool() -> None:
            raise ConnectionRefusedError

        writer = LogWriter(no_pool, max_events=10**7, max_bytes=10**12)  # type: ignore[arg-type]
        graph = ExecutionMonitor(emit=writer.enqueue).instrument(graph)
    elif variant == "converted":
        graph = ExecutionMonitor(emit=events.append).instrument(graph)
    elif variant == "otel":
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
        if workload == "trivial":
            bench.overhead.otel_tracer = provider.get_tracer("bench.instructions")
        else:
            from openinference.instrumentation.langchain import LangChainInstrumentor

            LangChainInstrumentor().instrument(tracer_provider=provider)
    config = {"configurable": {"thread_id": "bench", "user_id": "bench"}}

    def given() -> dict[str, object]:
        if workload == "trivial":
            return {"message": "hi", "n": 0}
        return {"messages": [("user", "Weather and population of Paris?")]}

    async def main() -> None:
        root = bench.overhead.otel_tracer
        for index in range(runs):
            if root is not None:
                with root.start_as_current_span("graph run"):
                    await graph.ainvoke(given(), config)
            else:
                await graph.ainvoke(given(), config)
            if events and index % 20 == 19:  # the writer converts a batch at a time
                rows, _ = event_rows(events, clean)  # type: ignore[arg-type]
                rows_to_json(rows)
                events.clear()
        if provider is not None:
            provider.force_flush()

    asyncio.run(main())


def instructions(workload: str, variant: str, runs: int) -> int:
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            workload,
            variant,
            str(runs),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"},
    )
    for line in result.stderr.splitlines():
        if "Collected" in line:
            return int(line.split()[-1])
    raise RuntimeError(f"no instruction count in callgrind's output:\n{result.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workload", choices=WORKLOADS, action="append")
    parser.add_argument("--variant", choices=VARIANTS, action="append")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workload, variant, runs = args.child
        child(workload, variant, int(runs))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    from bench.common import print_table

    rows = [("workload", "variant", "instructions/run", "overhead", "added / otel's added")]
    variants = ["plain", *(v for v in args.variant or VARIANTS if v != "plain")]
    for workload in args.workload or WORKLOADS:
        per_run = {}
        for variant in variants:
            low = instructions(workload, variant, args.runs)
            high = instructions(workload, variant, 3 * args.runs)
            per_run[variant] = (high - low) / (2 * args.runs)
        base = per_run["plain"]
        otel_added = per_run["otel"] - base if "otel" in per_run else None
        for variant in variants:
            added = per_run[variant] - base
            rows.append(
                (
                    workload,
                    variant,
                    f"{per_run[variant] / 1e6:.3f} M",
                    f"{added / base * 100:+.2f}%",
                    f"{added / otel_added:.3f}" if otel_added else "",
                )
            )
    print_table(f"CPU instructions per run (callgrind, {args.runs} and {3 * args.runs} runs)", rows)


if __name__ == "__main__":
    main()
