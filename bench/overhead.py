"""Capture overhead: the same 5-node graph unmonitored, with this monitor (its
writer running against PostgreSQL), and with OpenTelemetry, in one process.

    make bench-overhead        # or: python -m bench.overhead [--rounds 30] [--runs 100]

The graph is five trivial async nodes in a line (the cheapest graph LangGraph
runs, so the overhead shows at its largest relative size). Three copies:

- plain: no monitoring;
- monitor: `ExecutionMonitor(emit=writer.enqueue)` with a real `LogWriter`
  writing to a scratch database on DATABASE_URL's server (or an embedded one),
  so its background work shares the event loop as it does in the app;
- capture (diagnostic, no target): the monitor with a sink that does nothing,
  to tell the capture's own cost from the writer's;
- otel: OpenTelemetry SDK, `TracerProvider` + `BatchSpanProcessor` +
  `InMemorySpanExporter`, one span per node plus a root span per run.

They run interleaved: each round runs `--runs` of each variant, in a rotating
order, and every run is timed alone. Reported: the median (the target) and the
mean (which also carries the writer's background work) per run, overheads in
us and %, the monitor/OpenTelemetry overhead ratio, and the hot-path cost of
`writer.enqueue` (timed inside monitored runs, and alone in a tight loop).
"""

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bench.common import percentile, print_table, scratch_database
from langgraph_execution_monitor.capture import ExecutionMonitor
from langgraph_execution_monitor.events import ExecutionEvent
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory

NODES = ("guardrail", "classify", "check", "orchestrate", "respond")
OVERHEAD_TARGET_PCT = 5.0
OTEL_RATIO_TARGET = 0.25
ENQUEUE_P99_TARGET_US = 20.0


class State(TypedDict, total=False):
    message: str
    n: int
    response: str


NodeFn = Callable[[State], Awaitable[dict[str, Any]]]


def make_node(index: int) -> NodeFn:
    async def node(state: State) -> dict[str, Any]:
        if index == len(NODES) - 1:
            return {"n": state.get("n", 0) + 1, "response": f"done {state['message']}"}
        return {"n": state.get("n", 0) + 1}

    return node


def build(wrap: Callable[[str, NodeFn], NodeFn] | None = None) -> Any:
    builder = StateGraph(State)
    previous = START
    for index, name in enumerate(NODES):
        fn = make_node(index)
        builder.add_node(name, wrap(name, fn) if wrap else fn)
        builder.add_edge(previous, name)
        previous = name
    builder.add_edge(previous, END)
    return builder.compile()


def otel_graph() -> tuple[Callable[[], Awaitable[Any]], InMemorySpanExporter, TracerProvider]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("bench.overhead")

    def traced(name: str, fn: NodeFn) -> NodeFn:
        async def node(state: State) -> dict[str, Any]:
            with tracer.start_as_current_span(name):
                return await fn(state)

        return node

    graph = build(traced)

    async def run() -> Any:
        with tracer.start_as_current_span("graph run"):
            return await graph.ainvoke({"message": "hi", "n": 0})

    return run, exporter, provider


async def timed(run: Callable[[], Awaitable[Any]], count: int, into: list[float]) -> None:
    for _ in range(count):
        began = time.perf_counter()
        await run()
        into.append((time.perf_counter() - began) * 1e6)


async def measure(url: str, rounds: int, runs: int) -> dict[str, Any]:
    writer = LogWriter(writer_pool_factory(url, 2), stale_after_s=None)
    writer.start()

    plain_graph = build()
    monitored = ExecutionMonitor(emit=writer.enqueue).instrument(
        build(), response_of=lambda state: state.get("response")
    )
    captured = ExecutionMonitor(emit=lambda event: None).instrument(
        build(), response_of=lambda state: state.get("response")
    )
    otel_run, exporter, provider = otel_graph()

    async def plain() -> Any:
        return await plain_graph.ainvoke({"message": "hi", "n": 0})

    async def monitor() -> Any:
        return await monitored.ainvoke({"message": "hi", "n": 0}, user_id="bench")

    async def capture() -> Any:
        return await captured.ainvoke({"message": "hi", "n": 0}, user_id="bench")

    variants: dict[str, Callable[[], Awaitable[Any]]] = {
        "plain": plain,
        "monitor": monitor,
        "capture": capture,
        "otel": otel_run,
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for run in variants.values():  # warm-up
        await timed(run, 200, [])
    names = list(variants)
    for round_no in range(rounds):
        shift = round_no % len(names)
        order = names[shift:] + names[:shift]
        for name in order:
            await timed(variants[name], runs, samples[name])
        exporter.clear()  # the in-memory exporter keeps every span otherwise
        gc.collect()

    # The hot path itself: writer.enqueue timed inside monitored runs...
    enqueue_ns: list[int] = []

    def timed_enqueue(event: ExecutionEvent) -> bool:
        began = time.perf_counter_ns()
        accepted = writer.enqueue(event)
        enqueue_ns.append(time.perf_counter_ns() - began)
        return accepted

    probe = ExecutionMonitor(emit=timed_enqueue).instrument(
        build(), response_of=lambda state: state.get("response")
    )
    for _ in range(max(1000, rounds * runs // 3)):
        await probe.ainvoke({"message": "hi", "n": 0}, user_id="bench")
    # ...and alone, in a tight loop (a writer that is not started: nothing competes).
    events: list[ExecutionEvent] = []
    collector = ExecutionMonitor(emit=events.append).instrument(
        build(), response_of=lambda state: state.get("response")
    )
    await collector.ainvoke({"message": "hi", "n": 0}, user_id="bench")
    idle = LogWriter(writer_pool_factory(url, 1), max_events=10**7, max_bytes=10**12)
    alone_ns: list[int] = []
    for index in range(200_000):
        event = events[index & 1]
        began = time.perf_counter_ns()
        idle.enqueue(event)
        alone_ns.append(time.perf_counter_ns() - began)

    await writer.stop(10)
    provider.shutdown()
    return {
        "samples": samples,
        "enqueue_in_runs_us": [ns / 1000 for ns in enqueue_ns],
        "enqueue_alone_us": [ns / 1000 for ns in alone_ns],
        "writer": writer.stats,
    }


def report(result: dict[str, Any], rounds: int, runs: int) -> None:
    samples = result["samples"]
    median = {name: statistics.median(values) for name, values in samples.items()}
    mean = {name: statistics.fmean(values) for name, values in samples.items()}
    base, base_mean = median["plain"], mean["plain"]

    rows = [
        (
            "variant",
            "median/run (us)",
            "overhead (us)",
            "overhead %",
            "mean/run (us)",
            "mean overhead %",
        )
    ]
    for name in ("plain", "monitor", "capture", "otel"):
        rows.append(
            (
                name,
                f"{median[name]:.1f}",
                f"{median[name] - base:+.1f}",
                f"{(median[name] - base) / base * 100:+.2f}",
                f"{mean[name]:.1f}",
                f"{(mean[name] - base_mean) / base_mean * 100:+.2f}",
            )
        )
    print_table(f"Per-run time, {rounds} rounds x {runs} runs of each, interleaved", rows)

    monitor_over = median["monitor"] - base
    otel_over = median["otel"] - base
    ratio = monitor_over / otel_over if otel_over > 0 else float("inf")
    in_runs, alone = result["enqueue_in_runs_us"], result["enqueue_alone_us"]
    stats = result["writer"]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    print_table(
        "Targets",
        [
            ("measure", "value", "target", ""),
            (
                "monitor overhead, % of the unmonitored median",
                f"{monitor_over / base * 100:.2f}%",
                f"<= {OVERHEAD_TARGET_PCT:.0f}%",
                verdict(monitor_over / base * 100 <= OVERHEAD_TARGET_PCT),
            ),
            (
                "monitor overhead / OpenTelemetry overhead",
                f"{ratio:.3f}",
                f"<= {OTEL_RATIO_TARGET}",
                verdict(ratio <= OTEL_RATIO_TARGET),
            ),
            (
                "enqueue p50 / p99 inside monitored runs (us)",
                f"{percentile(in_runs, 0.5):.2f} / {percentile(in_runs, 0.99):.2f}",
                f"p99 < {ENQUEUE_P99_TARGET_US:.0f}",
                verdict(percentile(in_runs, 0.99) < ENQUEUE_P99_TARGET_US),
            ),
            (
                "enqueue p50 / p99 alone, tight loop (us)",
                f"{percentile(alone, 0.5):.2f} / {percentile(alone, 0.99):.2f}",
                f"p99 < {ENQUEUE_P99_TARGET_US:.0f}",
                verdict(percentile(alone, 0.99) < ENQUEUE_P99_TARGET_US),
            ),
            (
                "writer: queued / written / dropped / failed",
                f"{stats.queued} / {stats.written} / {stats.dropped} / {stats.failed_to_log}",
                "all written",
                verdict(stats.written == stats.queued),
            ),
        ],
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--runs", type=int, default=100, help="runs of each variant per round")
    args = parser.parse_args()
    async with scratch_database("elm_bench_overhead") as url:
        result = await measure(url, args.rounds, args.runs)
    report(result, args.rounds, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
