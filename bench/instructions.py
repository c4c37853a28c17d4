"""Capture overhead in CPU instructions, counted by valgrind (callgrind): the same
number on a quiet machine and on a busy one, so it can be compared across commits.

    python -m bench.instructions [--runs 300] [--workload trivial] [--variant otel]

Each variant runs in its own process under callgrind with instrumentation off while
Python starts, imports and warms up (100 runs); then `callgrind_control` switches it on
for `--runs` graph runs (and the background work they cause) and off again, so the
count divided by the runs is the cost of one run. Variants, for the trivial 5-node
graph and the prebuilt ReAct agent of `bench/overhead.py`:

- plain: no monitoring;
- capture: the monitor with a sink that keeps the events (the hot path alone);
- converted: capture, and the writer's conversion of every event into the JSON batch
  it sends (all the writer does on the event loop but the round trip);
- writer: the monitor with a real `LogWriter` writing to a scratch database on
  DATABASE_URL's server (or an embedded one). Its timers (flush interval, conversion
  slices) are stretched by valgrind's slowdown, so that its batches are as large as at
  full speed;
- otel-sdk: OpenTelemetry SDK spans into its in-memory exporter (a span per node and
  one per run for the trivial graph, OpenInference's LangChain instrumentor for the
  agent), its export thread counted: OpenTelemetry's floor;
- otel: the same spans exported with OTLP/HTTP to a local sink, as deployed.

Wall-clock overhead is larger than the instruction overhead (cache misses and
allocation the counter does not weigh): `bench/overhead.py` measures that.
"""

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import warnings
from typing import Any

VARIANTS = ("plain", "capture", "converted", "writer", "otel-sdk", "otel")
WORKLOADS = ("trivial", "react")
WARM_UP_RUNS = 100
VALGRIND_SLOWDOWN = 40  # about: valgrind runs Python this many times slower


def child(workload: str, variant: str, runs: int) -> None:
    """One variant's process: warm up, say "ready", run when told, say "done"."""
    warnings.filterwarnings("ignore")
    import bench.overhead
    from bench.overhead import react, trivial
    from langgraph_execution_monitor import writer as writer_module
    from langgraph_execution_monitor.capture import ExecutionMonitor
    from langgraph_execution_monitor.rows import TextCleaner, event_rows, rows_to_json

    graph = trivial() if workload == "trivial" else react()
    events: list[Any] = []
    clean = TextCleaner(4000)
    provider: Any = None
    writer: Any = None
    if variant in ("capture", "converted"):
        graph = ExecutionMonitor(emit=events.append).instrument(graph)
    elif variant == "writer":
        writer_module.CONVERT_SLICE_S *= VALGRIND_SLOWDOWN
        writer_module.CONVERT_PACE_S *= VALGRIND_SLOWDOWN
        writer = writer_module.LogWriter(
            writer_module.writer_pool_factory(os.environ["BENCH_DATABASE_URL"], 2),
            stale_after_s=None,
            flush_interval_s=0.05 * VALGRIND_SLOWDOWN,
        )
        graph = ExecutionMonitor(emit=writer.enqueue).instrument(graph)
    elif variant.startswith("otel"):
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        provider = TracerProvider()
        if variant == "otel":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            endpoint = f"{os.environ['BENCH_SINK_URL']}/v1/traces"
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        else:
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

    async def block(count: int) -> None:
        root = bench.overhead.otel_tracer
        for index in range(count):
            if root is not None:
                with root.start_as_current_span("graph run"):
                    await graph.ainvoke(given(), config)
            else:
                await graph.ainvoke(given(), config)
            if events and index % 20 == 19:  # the writer converts a batch at a time
                if variant == "converted":
                    rows, _ = event_rows(events, clean)
                    rows_to_json(rows)
                events.clear()
        if writer is not None:
            while writer.queue_depth:  # noqa: ASYNC110 (no drained event)
                await asyncio.sleep(0.2)
        if provider is not None:
            provider.force_flush()

    async def main() -> None:
        if writer is not None:
            writer.start()
        await block(WARM_UP_RUNS)
        print("ready", flush=True)
        sys.stdin.readline()
        await block(runs)
        print("done", flush=True)
        sys.stdin.readline()
        if writer is not None:
            await writer.stop(5)

    asyncio.run(main())


def instructions(workload: str, variant: str, runs: int, env: dict[str, str]) -> float:
    """Instructions per run of one variant, start-up and warm-up excluded."""
    process = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            workload,
            variant,
            str(runs),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin", **env},
    )
    assert process.stdin is not None and process.stdout is not None

    def step(expected: str, switch: str) -> None:
        line = process.stdout.readline().strip()  # type: ignore[union-attr]
        if line != expected:
            process.kill()
            raise RuntimeError(f"{variant}: expected {expected!r}, got {line!r}")
        subprocess.run(
            ["callgrind_control", "-i", switch, str(process.pid)], check=True, capture_output=True
        )
        process.stdin.write("\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]

    step("ready", "on")
    step("done", "off")
    _, stderr = process.communicate(timeout=600)
    for line in stderr.splitlines():
        if "Collected" in line:
            return int(line.split()[-1]) / runs
    raise RuntimeError(f"no instruction count in callgrind's output:\n{stderr}")


async def measure(
    workloads: list[str], variants: list[str], runs: int
) -> dict[str, dict[str, float]]:
    from bench.common import scratch_database
    from bench.overhead import LocalSink

    sink = LocalSink()
    try:
        async with scratch_database("elm_bench_instructions") as url:
            env = {"BENCH_DATABASE_URL": url, "BENCH_SINK_URL": sink.url}
            if os.environ.get("PYTHONPATH"):
                env["PYTHONPATH"] = os.environ["PYTHONPATH"]
            return {
                workload: {
                    variant: await asyncio.to_thread(instructions, workload, variant, runs, env)
                    for variant in variants
                }
                for workload in workloads
            }
    finally:
        sink.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300)
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

    variants = ["plain", *(v for v in args.variant or VARIANTS if v != "plain")]
    results = asyncio.run(measure(args.workload or list(WORKLOADS), variants, args.runs))
    header = ("workload", "variant", "instructions/run", "added", "/ otel's added", "/ sdk's")
    rows = [header]
    for workload, per_run in results.items():
        base = per_run["plain"]
        otel = per_run.get("otel", 0.0) - base
        sdk = per_run.get("otel-sdk", 0.0) - base
        for variant, count in per_run.items():
            added = count - base
            rows.append(
                (
                    workload,
                    variant,
                    f"{count / 1e6:.3f} M",
                    f"{added / 1e3:+,.0f} k ({added / base * 100:+.2f}%)",
                    f"{added / otel:.3f}" if otel > 0 else "",
                    f"{added / sdk:.3f}" if sdk > 0 else "",
                )
            )
    print_table(f"CPU instructions per run (callgrind, {args.runs} runs after warm-up)", rows)


if __name__ == "__main__":
    main()
