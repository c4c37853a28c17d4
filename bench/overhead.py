"""Capture overhead, side by side in one process: no monitoring, this monitor (its
writer running against PostgreSQL), OpenTelemetry, and LangSmith's own tracer.

    make bench-overhead        # or: python -m bench.overhead [--rounds 60] [--runs 50]

Two workloads:

- trivial: five trivial async nodes in a line (the cheapest graph LangGraph runs, so
  the overhead shows at its largest relative size);
- react: LangGraph's prebuilt ReAct agent (`create_react_agent`) with langchain_core's
  fake chat model (a tool-calling turn with token usage, then the answer) and two
  tools: agent -> two tool calls in parallel -> agent, what a real agent turn runs
  through, minus the LLM's latency.

Variants of each, all on the same compiled graph object (its class is switched
between blocks: two graph objects built alike differ by up to 10% in speed here, more
than the overheads measured):

- plain: no monitoring;
- monitor: `monitor.instrument(graph)` with a real `LogWriter` writing to a scratch
  database on DATABASE_URL's server (or an embedded one), sharing the event loop as
  it does in an app;
- capture (diagnostic, no target): the monitor with a sink that does nothing;
- otel: OpenTelemetry as it is deployed: the SDK's `BatchSpanProcessor` exporting with
  OTLP/HTTP (protobuf) to a local sink. Trivial: a span per node plus a root span.
  React: OpenInference's LangChain instrumentor (a span per chain, model and tool run;
  how OpenTelemetry users trace LangGraph);
- otel-sdk (diagnostic): the same spans into the SDK's in-memory exporter: what
  OpenTelemetry costs before any export, its floor;
- langsmith: LangSmith's `LangChainTracer` (its client batching runs in a background
  thread) sending to the local sink.

The sink is a separate process on 127.0.0.1 answering 200 to every request (its CPU is
not the tracers').

`--database-cpu N` puts the writer's PostgreSQL backends and the sink on CPU N and the
bench on the other CPUs, as in production, where the database and the collector are
other machines. Without it, on a 2-core machine, the kernel runs the backend that
executes a batch on the app's CPU at times (it wakes next to the process that sent
the batch), and the runs during a batch pay for the database's work: `bench.overlap`
shows it.

They run interleaved: each round runs a block of `--runs` of each variant in a
rotating order, every run timed alone. After its block each variant finishes its
background work (the writer has written the block, OpenTelemetry and LangSmith have
exported it) before the next block starts. Reported per workload:

- latency: median, p99 and mean per run, and their overheads;
- CPU per run: the process's CPU time (all threads) over the block and its background
  work, divided by the runs: what each tracer costs the app in all, its batching and
  exporting included. The ratios against OpenTelemetry and LangSmith compare this
  added cost (their export threads do most of their work outside the timed runs).
"""

import argparse
import asyncio
import gc
import itertools
import math
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import create_react_agent
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
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
VARIANTS = ("plain", "monitor", "capture", "otel", "otel-sdk", "langsmith")

Run = Callable[[], Awaitable[Any]]


class State(TypedDict, total=False):
    message: str
    n: int
    response: str


# The trivial graph's OpenTelemetry variant: while set, each node opens a span (the
# same graph object serves every variant).
otel_tracer: Any = None


def make_node(index: int) -> Callable[[State], Awaitable[dict[str, Any]]]:
    name, last = NODES[index], index == len(NODES) - 1

    def update(state: State) -> dict[str, Any]:
        if last:
            return {"n": state.get("n", 0) + 1, "response": f"done {state['message']}"}
        return {"n": state.get("n", 0) + 1}

    async def node(state: State) -> dict[str, Any]:
        tracer = otel_tracer
        if tracer is None:
            return update(state)
        with tracer.start_as_current_span(name):
            return update(state)

    return node


def trivial() -> Any:
    builder = StateGraph(State)
    previous = START
    for index, name in enumerate(NODES):
        builder.add_node(name, make_node(index))
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

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _ok(self) -> None:
        if self.path == "/_count":
            self._answer(str(_Sink.requests).encode())
            return
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        _Sink.requests += 1
        # OTLP's answer is a protobuf message; empty is a full success.
        self._answer(b"" if self.path == "/v1/traces" else b"{}")

    do_GET = do_POST = do_PATCH = do_PUT = _ok

    def log_message(self, *args: Any) -> None:
        pass


def serve_sink() -> None:
    """The LangSmith sink's own process (its CPU is not the tracer's): prints its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    print(server.server_address[1], flush=True)
    server.serve_forever()


class LocalSink:
    """An HTTP server answering 200 to everything, in a child process."""

    def __init__(self, cpu: int | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.overhead", "--sink"],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=None if cpu is None else lambda: os.sched_setaffinity(0, {cpu}),
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{self.process.stdout.readline().strip()}"

    def requests(self) -> int:
        with urllib.request.urlopen(f"{self.url}/_count", timeout=10) as answer:
            return int(answer.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def langsmith_client(sink_url: str) -> Any:
    from langsmith import Client

    client = Client(api_url=sink_url, api_key="bench-key", auto_batch_tracing=True)
    # LangSmith ends its tracing thread when the client's refcount falls to what it
    # knows of (0.15.1), and runs traced after that wait in its queue until flush()
    # times out (30 s). An app's client is held in many places; here only the tracer
    # holds it, so keep a few more references for the bench's lifetime.
    _LANGSMITH_REFS.extend([client] * 4)
    return client


_LANGSMITH_REFS: list[Any] = []


async def written(writer: LogWriter, limit_s: float = 30.0) -> None:
    """Until the writer has written everything it was given."""
    deadline = time.monotonic() + limit_s
    while writer.queue_depth and time.monotonic() < deadline:  # noqa: ASYNC110 (no drained event)
        await asyncio.sleep(0.01)


class Workload:
    """One graph and the five ways of running it."""

    def __init__(self, name: str, writer: LogWriter, sink_url: str) -> None:
        self.name = name
        self.writer = writer
        self.exporter = InMemorySpanExporter()
        self.providers = {"otel": TracerProvider(), "otel-sdk": TracerProvider()}
        self.providers["otel"].add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{sink_url}/v1/traces"))
        )
        self.providers["otel-sdk"].add_span_processor(BatchSpanProcessor(self.exporter))
        self.tracers = {
            variant: provider.get_tracer("bench.overhead")
            for variant, provider in self.providers.items()
        }
        self.instrumentor: Any = None
        from langchain_core.tracers.langchain import LangChainTracer

        self.langsmith = langsmith_client(sink_url)
        callbacks = [LangChainTracer(client=self.langsmith, project_name="bench")]
        self.graph = graph = trivial() if name == "trivial" else react()
        # One graph object, its class switched per block: plain, capture, monitor.
        self.classes = {"plain": type(graph)}
        ExecutionMonitor(emit=lambda event: None).instrument(graph)
        self.classes["capture"] = type(graph)
        ExecutionMonitor(emit=writer.enqueue).instrument(graph)
        self.classes["monitor"] = type(graph)
        graph.__class__ = self.classes["plain"]
        if name == "react":
            from openinference.instrumentation.langchain import LangChainInstrumentor

            self.instrumentor = LangChainInstrumentor()

        def given() -> dict[str, Any]:
            if name == "trivial":
                return {"message": "hi", "n": 0}
            return {"messages": [("user", "Weather and population of Paris?")]}

        config = {"configurable": {"thread_id": "bench", "user_id": "bench"}}
        smith_config = {**config, "callbacks": callbacks}

        def otel(variant: str) -> Run:
            tracer = self.tracers[variant]

            async def run() -> Any:
                if self.instrumentor is not None:
                    return await graph.ainvoke(given(), config)
                with tracer.start_as_current_span("graph run"):
                    return await graph.ainvoke(given(), config)

            return run

        self.runs: dict[str, Run] = {
            "plain": lambda: graph.ainvoke(given(), config),
            "monitor": lambda: graph.ainvoke(given(), config),
            "capture": lambda: graph.ainvoke(given(), config),
            "otel": otel("otel"),
            "otel-sdk": otel("otel-sdk"),
            "langsmith": lambda: graph.ainvoke(given(), smith_config),
        }

    async def run_block(
        self, variant: str, count: int, into: list[float], cpu: list[float]
    ) -> None:
        global otel_tracer
        self.graph.__class__ = self.classes.get(variant, self.classes["plain"])
        provider = self.providers.get(variant)
        if provider is not None:
            if self.instrumentor is not None:  # OpenInference patches LangChain globally
                self.instrumentor.instrument(tracer_provider=provider)
            else:
                otel_tracer = self.tracers[variant]
        began = time.process_time()
        try:
            await timed(self.runs[variant], count, into)
        finally:
            otel_tracer = None
            if provider is not None and self.instrumentor is not None:
                self.instrumentor.uninstrument()
        # The block's background work, counted in its CPU time.
        drain_began = time.monotonic()
        if variant == "monitor":
            await written(self.writer)
        elif provider is not None:
            provider.force_flush()
        elif variant == "langsmith":
            await asyncio.to_thread(self.langsmith.flush, 30)  # its tracer may need the loop
        drained_s = time.monotonic() - drain_began
        if drained_s > 1:
            print(f"{self.name}/{variant}: background work took {drained_s:.1f} s", file=sys.stderr)
        cpu.append((time.process_time() - began) / count * 1e6)
        self.graph.__class__ = self.classes["plain"]


async def timed(run: Run, count: int, into: list[float]) -> None:
    for _ in range(count):
        began = time.perf_counter()
        await run()
        into.append((time.perf_counter() - began) * 1e6)


def pin_backend(cpu: int) -> Callable[[Any], Awaitable[None]]:
    """A pool `init` that moves each connection's server process to `cpu`."""

    async def init(connection: Any) -> None:
        os.sched_setaffinity(await connection.fetchval("SELECT pg_backend_pid()"), {cpu})

    return init


async def measure(
    url: str,
    rounds: int,
    runs: int,
    workloads: list[str],
    variants: tuple[str, ...] = VARIANTS,
    database_cpu: int | None = None,
) -> dict[str, Any]:
    init = None if database_cpu is None else pin_backend(database_cpu)
    writer = LogWriter(writer_pool_factory(url, 2, init), stale_after_s=None)
    writer.start()
    sink = LocalSink(database_cpu)
    results: dict[str, Any] = {}
    try:
        for name in workloads:
            workload = Workload(name, writer, sink.url)
            samples: dict[str, list[float]] = {variant: [] for variant in variants}
            cpu: dict[str, list[float]] = {variant: [] for variant in variants}
            for variant in variants:  # warm-up
                await workload.run_block(variant, 100, [], [])
            for round_no in range(rounds):
                shift = round_no % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    await workload.run_block(variant, runs, samples[variant], cpu[variant])
                workload.exporter.clear()  # the in-memory exporter keeps every span otherwise
                gc.collect()
            for provider in workload.providers.values():
                provider.shutdown()
            results[name] = {"latency": samples, "cpu": cpu}

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
        sink_requests = sink.requests()
    finally:
        sink.stop()
    return {
        "workloads": results,
        "enqueue_in_runs_us": [ns / 1000 for ns in enqueue_ns],
        "writer": writer.stats,
        "sink_requests": sink_requests,
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(result: dict[str, Any], rounds: int, runs: int) -> None:
    targets: list[tuple[str, ...]] = [("measure", "value", "target", "")]
    for name, measured in result["workloads"].items():
        samples, cpu_blocks = measured["latency"], measured["cpu"]
        median = {v: statistics.median(s) for v, s in samples.items()}
        p99 = {v: percentile(s, 0.99) for v, s in samples.items()}
        cpu = {v: statistics.median(s) for v, s in cpu_blocks.items()}
        mean = {v: statistics.fmean(s) for v, s in samples.items()}
        base, base99, base_cpu = median["plain"], p99["plain"], cpu["plain"]
        base_mean = mean["plain"]
        rows = [
            (
                "variant",
                "median (us)",
                "overhead %",
                "p99 (us)",
                "p99 overhead %",
                "mean overhead %",
                "CPU/run (us)",
                "added CPU (us)",
            )
        ]
        for variant in (v for v in VARIANTS if v in samples):
            rows.append(
                (
                    variant,
                    f"{median[variant]:.1f}",
                    f"{(median[variant] - base) / base * 100:+.2f}",
                    f"{p99[variant]:.1f}",
                    f"{(p99[variant] - base99) / base99 * 100:+.2f}",
                    f"{(mean[variant] - base_mean) / base_mean * 100:+.2f}",
                    f"{cpu[variant]:.1f}",
                    f"{cpu[variant] - base_cpu:+.1f}",
                )
            )
        print_table(f"{name}: per run, {rounds} rounds x {runs} runs of each, interleaved", rows)
        pct = (median["monitor"] - base) / base * 100
        pct99 = (p99["monitor"] - base99) / base99 * 100
        added = cpu["monitor"] - base_cpu
        otel_ratio = added / (cpu["otel"] - base_cpu) if "otel" in cpu else math.nan
        sdk_ratio = added / (cpu["otel-sdk"] - base_cpu) if "otel-sdk" in cpu else math.nan
        smith_ratio = added / (cpu["langsmith"] - base_cpu) if "langsmith" in cpu else math.nan
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
                f"{name}: monitor / OpenTelemetry (OTLP export) added CPU",
                f"{otel_ratio:.3f}",
                f"<= {OTEL_RATIO_TARGET}",
                verdict(otel_ratio <= OTEL_RATIO_TARGET),
            ),
            (
                f"{name}: monitor / OpenTelemetry SDK alone (no export)",
                f"{sdk_ratio:.3f}",
                "(diagnostic)",
                "",
            ),
            (
                f"{name}: monitor / LangSmith added CPU",
                f"{smith_ratio:.3f}" if "langsmith" in cpu else "not measured (--skip)",
                f"<= {LANGSMITH_RATIO_TARGET}",
                verdict(smith_ratio <= LANGSMITH_RATIO_TARGET) if "langsmith" in cpu else "",
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
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=50, help="runs of each variant per round")
    parser.add_argument("--workload", choices=["trivial", "react"], action="append")
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--skip",
        choices=[v for v in VARIANTS if v not in ("plain", "monitor")],
        action="append",
        default=[],
        help="leave a variant out (LangSmith's tracer backs up where the sink is slow)",
    )
    parser.add_argument(
        "--database-cpu",
        type=int,
        metavar="N",
        help="run the writer's PostgreSQL backends and the sink on CPU N and the bench on"
        " the others, as if the database and the tracers' collector were on other machines"
        " (setting a backend's affinity needs root or the server's user)",
    )
    args = parser.parse_args()
    if args.sink:
        serve_sink()
        return
    os.environ.setdefault("LANGSMITH_TRACING", "false")  # only the explicit tracer sends
    if args.database_cpu is not None:
        os.sched_setaffinity(0, os.sched_getaffinity(0) - {args.database_cpu})
    async with scratch_database("elm_bench_overhead") as url:
        variants = tuple(v for v in VARIANTS if v not in args.skip)
        result = await measure(
            url,
            args.rounds,
            args.runs,
            args.workload or ["trivial", "react"],
            variants,
            args.database_cpu,
        )
    if args.database_cpu is not None:
        print(
            f"the database's backends and the sink on CPU {args.database_cpu}, the bench on"
            f" {sorted(os.sched_getaffinity(0))}"
        )
    report(result, args.rounds, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
