"""Capture overhead, side by side in one process: no monitoring, this monitor (its
writer running against PostgreSQL), OpenTelemetry, and LangSmith's own tracer.

    make bench-overhead        # or: python -m bench.overhead [--rounds 30] [--runs 100]

Two workloads:

- trivial: five trivial async nodes in a line (the cheapest graph LangGraph runs, so
  the overhead shows at its largest relative size);
- react: LangGraph's prebuilt ReAct agent (`create_react_agent`) with langchain_core's
  fake chat model (a tool-calling turn with token usage, then the answer) and two
  tools: agent -> two tool calls in parallel -> agent, what a real agent turn runs
  through, minus the LLM's latency.

Variants of each:

- plain: no monitoring;
- monitor: `monitor.instrument(graph)` with a real `LogWriter` writing to a scratch
  database on DATABASE_URL's server (or an embedded one), sharing the event loop as
  it does in an app;
- capture (diagnostic, no target): the monitor with a sink that does nothing;
- otel: OpenTelemetry SDK, `BatchSpanProcessor` + in-memory exporter. Trivial: a span
  per node plus a root span. React: OpenInference's LangChain instrumentor (a span
  per chain, model and tool run; how OpenTelemetry users trace LangGraph);
- langsmith: LangSmith's `LangChainTracer` (its client batching runs in a background
  thread) sending to a local HTTP sink on 127.0.0.1 that answers 200.

They run interleaved: each round runs `--runs` of each variant in a rotating order,
every run timed alone. Reported per workload: median and p99 per run, overheads in us
and %, and the monitor's added cost over OpenTelemetry's and LangSmith's.
"""

import argparse
import asyncio
import gc
import itertools
import os
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import create_react_agent
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bench.common import percentile, print_table, scratch_database
from langgraph_execution_monitor.capture import ExecutionMonitor
from langgraph_execution_monitor.events import ExecutionEvent
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory

NODES = ("guardrail", "classify", "check", "orchestrate", "respond")
OVERHEAD_TARGET_PCT = 5.0  # median, trivial graph
P99_TARGET_PCT = 10.0
OTEL_RATIO_TARGET = 0.25
LANGSMITH_RATIO_TARGET = 0.10
ENQUEUE_P99_TARGET_US = 20.0
VARIANTS = ("plain", "monitor", "capture", "otel", "langsmith")

Run = Callable[[], Awaitable[Any]]


class State(TypedDict, total=False):
    message: str
    n: int
    response: str


def make_node(index: int) -> Callable[[State], Awaitable[dict[str, Any]]]:
    async def node(state: State) -> dict[str, Any]:
        if index == len(NODES) - 1:
            return {"n": state.get("n", 0) + 1, "response": f"done {state['message']}"}
        return {"n": state.get("n", 0) + 1}

    return node


def trivial(wrap: Callable[[str, Any], Any] | None = None) -> Any:
    builder = StateGraph(State)
    previous = START
    for index, name in enumerate(NODES):
        fn = make_node(index)
        builder.add_node(name, wrap(name, fn) if wrap else fn)
        builder.add_edge(previous, name)
        previous = name
    builder.add_edge(previous, END)
    return builder.compile()


class ToolCallingFake(GenericFakeChatModel):
    """The fake chat model, able to stand in for a tool-calling model, answering on the
    event loop (its default async path hands each call to a thread: noise, not work)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ToolCallingFake":
        return self

    async def _agenerate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Any:
        return self._generate(messages, stop=stop, **kwargs)


@tool
async def weather(city: str) -> str:
    """Today's weather in a city."""
    return "sun"


@tool
async def population(city: str) -> int:
    """How many people live in a city."""
    return 2_100_000


def react() -> Any:
    usage = {"input_tokens": 120, "output_tokens": 24, "total_tokens": 144}
    turns = itertools.cycle(
        [
            AIMessage(
                "",
                tool_calls=[
                    {"name": "weather", "args": {"city": "Paris"}, "id": "call-1"},
                    {"name": "population", "args": {"city": "Paris"}, "id": "call-2"},
                ],
                usage_metadata=usage,
                response_metadata={"model_name": "fake-gpt"},
            ),
            AIMessage("Sunny; 2.1 million people.", usage_metadata=usage),
        ]
    )
    return create_react_agent(ToolCallingFake(messages=turns), [weather, population])


class _Sink(BaseHTTPRequestHandler):
    requests = 0

    def _ok(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        _Sink.requests += 1
        body = b"{}"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = _ok

    def log_message(self, *args: Any) -> None:
        pass


def local_sink() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def langsmith_client(sink_url: str) -> Any:
    from langsmith import Client

    return Client(api_url=sink_url, api_key="bench-key", auto_batch_tracing=True)


async def settled(quiet_s: float = 0.3, limit_s: float = 10.0) -> None:
    """Until the LangSmith client has sent what it had (the sink hears nothing more)."""
    deadline = time.monotonic() + limit_s
    seen = -1
    while seen != _Sink.requests and time.monotonic() < deadline:
        seen = _Sink.requests
        await asyncio.sleep(quiet_s)


async def timed(run: Run, count: int, into: list[float]) -> None:
    for _ in range(count):
        began = time.perf_counter()
        await run()
        into.append((time.perf_counter() - began) * 1e6)


class Workload:
    """The five variants of one workload, as runs to time."""

    def __init__(self, name: str, writer: LogWriter, sink_url: str) -> None:
        self.name = name
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(BatchSpanProcessor(self.exporter))
        self.instrumentor: Any = None
        from langchain_core.tracers.langchain import LangChainTracer

        self.langsmith = langsmith_client(sink_url)
        callbacks = [LangChainTracer(client=self.langsmith, project_name="bench")]
        monitor = ExecutionMonitor(emit=writer.enqueue)
        capture = ExecutionMonitor(emit=lambda event: None)
        if name == "trivial":
            tracer = self.provider.get_tracer("bench.overhead")

            def traced(node_name: str, fn: Any) -> Any:
                async def node(state: State) -> dict[str, Any]:
                    with tracer.start_as_current_span(node_name):
                        return await fn(state)

                return node

            plain, monitored, captured, otel_graph, smith = (
                trivial(),
                monitor.instrument(trivial()),
                capture.instrument(trivial()),
                trivial(traced),
                trivial(),
            )

            def given() -> dict[str, Any]:
                return {"message": "hi", "n": 0}

            async def otel() -> Any:
                with tracer.start_as_current_span("graph run"):
                    return await otel_graph.ainvoke(given())
        else:
            from openinference.instrumentation.langchain import LangChainInstrumentor

            self.instrumentor = LangChainInstrumentor()
            plain, monitored, captured, otel_graph, smith = (
                react(),
                monitor.instrument(react()),
                capture.instrument(react()),
                react(),
                react(),
            )

            def given() -> dict[str, Any]:
                return {"messages": [("user", "Weather and population of Paris?")]}

            async def otel() -> Any:
                return await otel_graph.ainvoke(given())

        config = {"configurable": {"thread_id": "bench", "user_id": "bench"}}
        smith_config = {**config, "callbacks": callbacks}
        self.runs: dict[str, Run] = {
            "plain": lambda: plain.ainvoke(given(), config),
            "monitor": lambda: monitored.ainvoke(given(), config),
            "capture": lambda: captured.ainvoke(given(), config),
            "otel": otel,
            "langsmith": lambda: smith.ainvoke(given(), smith_config),
        }

    async def run_block(self, variant: str, count: int, into: list[float]) -> None:
        # OpenInference instruments LangChain globally: on only for its own block.
        if variant == "otel" and self.instrumentor is not None:
            self.instrumentor.instrument(tracer_provider=self.provider)
            try:
                await timed(self.runs[variant], count, into)
            finally:
                self.instrumentor.uninstrument()
        else:
            await timed(self.runs[variant], count, into)
        # Background exporters finish their block's work before the next variant's
        # block starts (outside any timing): their threads would otherwise slow it.
        if variant == "langsmith":
            await settled()
        elif variant == "otel":
            self.provider.force_flush()


async def measure(url: str, rounds: int, runs: int, workloads: list[str]) -> dict[str, Any]:
    writer = LogWriter(writer_pool_factory(url, 2), stale_after_s=None)
    writer.start()
    sink, sink_url = local_sink()
    results: dict[str, Any] = {}
    for name in workloads:
        workload = Workload(name, writer, sink_url)
        samples: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        for variant in VARIANTS:  # warm-up
            await workload.run_block(variant, 100, [])
        for round_no in range(rounds):
            shift = round_no % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                await workload.run_block(variant, runs, samples[variant])
            workload.exporter.clear()  # the in-memory exporter keeps every span otherwise
            gc.collect()
        workload.provider.shutdown()
        results[name] = samples

    # The hot path itself: writer.enqueue timed inside monitored runs.
    enqueue_ns: list[int] = []

    def timed_enqueue(event: ExecutionEvent) -> bool:
        began = time.perf_counter_ns()
        accepted = writer.enqueue(event)
        enqueue_ns.append(time.perf_counter_ns() - began)
        return accepted

    probe = ExecutionMonitor(emit=timed_enqueue).instrument(trivial())
    for _ in range(2000):
        await probe.ainvoke({"message": "hi", "n": 0})
    await writer.stop(30)
    sink.shutdown()
    return {
        "workloads": results,
        "enqueue_in_runs_us": [ns / 1000 for ns in enqueue_ns],
        "writer": writer.stats,
        "sink_requests": _Sink.requests,
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(result: dict[str, Any], rounds: int, runs: int) -> None:
    targets: list[tuple[str, ...]] = [("measure", "value", "target", "")]
    for name, samples in result["workloads"].items():
        median = {v: statistics.median(s) for v, s in samples.items()}
        p99 = {v: percentile(s, 0.99) for v, s in samples.items()}
        base, base99 = median["plain"], p99["plain"]
        rows = [("variant", "median (us)", "overhead", "%", "p99 (us)", "p99 overhead %")]
        for variant in VARIANTS:
            rows.append(
                (
                    variant,
                    f"{median[variant]:.1f}",
                    f"{median[variant] - base:+.1f}",
                    f"{(median[variant] - base) / base * 100:+.2f}",
                    f"{p99[variant]:.1f}",
                    f"{(p99[variant] - base99) / base99 * 100:+.2f}",
                )
            )
        print_table(f"{name}: per run, {rounds} rounds x {runs} runs of each, interleaved", rows)
        added = median["monitor"] - base
        pct = added / base * 100
        pct99 = (p99["monitor"] - base99) / base99 * 100
        otel_ratio = added / (median["otel"] - base)
        smith_ratio = added / (median["langsmith"] - base)
        if name == "trivial":
            targets.append(
                (
                    f"{name}: median overhead",
                    f"{pct:.2f}%",
                    f"<= {OVERHEAD_TARGET_PCT:.0f}%",
                    verdict(pct <= OVERHEAD_TARGET_PCT),
                )
            )
        else:
            targets.append((f"{name}: median overhead", f"{pct:.2f}%", "", ""))
        targets += [
            (
                f"{name}: p99 overhead",
                f"{pct99:.2f}%",
                f"<= {P99_TARGET_PCT:.0f}%",
                verdict(pct99 <= P99_TARGET_PCT),
            ),
            (
                f"{name}: monitor / OpenTelemetry added cost",
                f"{otel_ratio:.3f}",
                f"<= {OTEL_RATIO_TARGET}",
                verdict(0 <= otel_ratio <= OTEL_RATIO_TARGET),
            ),
            (
                f"{name}: monitor / LangSmith added cost",
                f"{smith_ratio:.3f}",
                f"<= {LANGSMITH_RATIO_TARGET}",
                verdict(0 <= smith_ratio <= LANGSMITH_RATIO_TARGET),
            ),
        ]
    in_runs = result["enqueue_in_runs_us"]
    stats = result["writer"]
    targets += [
        (
            "enqueue p50 / p99 inside monitored runs (us)",
            f"{percentile(in_runs, 0.5):.2f} / {percentile(in_runs, 0.99):.2f}",
            f"p99 < {ENQUEUE_P99_TARGET_US:.0f}",
            verdict(percentile(in_runs, 0.99) < ENQUEUE_P99_TARGET_US),
        ),
        (
            "writer: queued / written / dropped / failed",
            f"{stats.queued} / {stats.written} / {stats.dropped} / {stats.failed_to_log}",
            "all written",
            verdict(stats.written == stats.queued),
        ),
        (
            "LangSmith sink: requests received",
            str(result["sink_requests"]),
            "> 0",
            verdict(result["sink_requests"] > 0),
        ),
    ]
    print_table("Targets", targets)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--runs", type=int, default=100, help="runs of each variant per round")
    parser.add_argument("--workload", choices=["trivial", "react"], action="append")
    args = parser.parse_args()
    os.environ.setdefault("LANGSMITH_TRACING", "false")  # only the explicit tracer sends
    async with scratch_database("elm_bench_overhead") as url:
        result = await measure(url, args.rounds, args.runs, args.workload or ["trivial", "react"])
    report(result, args.rounds, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
