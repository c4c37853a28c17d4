"""Stream benchmark: freshness of the SSE stream under load.

    make bench-stream          # or: python -m bench.stream [--clients 500] [--rate 200]
                               #     [--seconds 60] [--run-ms 250] [--client-processes 4]
                               #     [--profile server.svg]

Every part in a process of its own, so that the harness is not what is
measured: the app in a real uvicorn (`uvicorn app.api.main:app`, one process,
as the seed runs it) on a scratch database; `--clients` SSE clients on
/api/v1/monitoring/stream spread over `--client-processes` worker processes
(`stream_clients.py`: bare asyncio protocols that scan what they read in bulk;
uvloop if it is importable); the load generator in one more process, on its
own schedule. All of them stamp times with `time.time()` on this machine, so
the times compare; the parent only starts them, counts CPU and merges results.

Load: `--rate` runs per second for `--seconds`, written straight into the
database through the batch function `log_batch`, as the background writer
would write them. This isolates the stream path: NOTIFY at commit, the one
LISTEN connection, the fan-out's read of the changes since its cursor, SSE.
Every 50 ms one batch holds the starts of new runs and the finishes of runs
started `--run-ms` earlier, so a run is two events (start, then finish), each
sent to every client. A finish's `completed_at` is taken just before its batch
is written.

Reported:
  * latency: the time from a run's `completed_at` to the moment a client
    read its finished event, over every (client, finished run) pair: p50,
    p99, max. It includes the commit, NOTIFY, the server's fetch and
    fan-out, and the client process's own scheduling delay (so it is an
    upper bound); it excludes the writer's batching delay (up to its 50 ms
    flush interval in the app);
  * events lost: (client, finished run) pairs never received, and
    duplicates. A client the server drops as too slow reconnects with
    Last-Event-ID, as a browser's EventSource does, and must still get
    everything once; how often that happened is reported;
  * the server's memory (VmRSS from /proc/<pid>/status) idle, with the
    clients connected, at the end, and its peak (VmHWM);
  * CPU while the load runs, in % of one core (this machine has 2): the
    server, the PostgreSQL backends of the bench's database, the load
    generator, the clients, and whatever else the machine ran meanwhile
    (other PostgreSQL work, other people's processes), from /proc.

`SseClient`, `Load` and `generate` below are also the in-process reader and load
of `bench.soak` and `bench.dashboard`.
"""

import argparse
import asyncio
import contextlib
import importlib.util
import json
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import stream_clients
from bench.common import print_table, scratch_database
from langgraph_execution_monitor.events import ExecutionFinished, ExecutionStarted
from langgraph_execution_monitor.rows import TextCleaner, batch_columns
from langgraph_execution_monitor.storage import queries

STREAM_PATH = "/api/v1/monitoring/stream"
TICK_S = 0.05
TARGET_P99_MS = 100.0  # issue 11: finish -> client p99 at 1,000 clients and 200 runs/s
PROJECT_ROOT = Path(__file__).resolve().parent.parent


# -- the server ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def proc_status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise KeyError(field_name)


def proc_cpu_s(pid: int) -> float:
    # utime and stime, fields 14 and 15 of /proc/<pid>/stat (after the comm).
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(
    database_url: str,
    port: int,
    app: str = "app.api.main:app",
    uvicorn_args: tuple[str, ...] = (),
    **env: str,
) -> subprocess.Popen[bytes]:
    """`app` in a uvicorn subprocess on 127.0.0.1:`port`; `env` added to its
    environment, `uvicorn_args` to its command line."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MIGRATE_ON_START": "false",
        "STALE_CHECK_INTERVAL_S": "3600",
        **env,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            *uvicorn_args,
        ],
        cwd=PROJECT_ROOT,
        env=env,
    )


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


async def health(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        return (await http.get("/health")).json()


async def fan_out_batches(base_url: str) -> float | None:
    """The server's count of fan-out reads (`execution_stream_fetches` in /metrics)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        text = (await http.get("/metrics")).text
    found = re.search(r"^execution_stream_fetches_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


def listener_connected(body: dict[str, Any]) -> bool:
    return body.get("listener", {}).get("state") == "connected"  # type: ignore[no-any-return]


async def wait_for_server(
    base_url: str,
    server: subprocess.Popen[bytes],
    ready: Callable[[dict[str, Any]], bool] = listener_connected,
) -> None:
    """Until /health's body is `ready` (by default: the stream's listener connected)."""
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        with contextlib.suppress(httpx.HTTPError, ValueError):
            if ready(await health(base_url)):
                return
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not start")
        await asyncio.sleep(0.2)


# -- the clients --------------------------------------------------------------


# A finished execution's event: jsonb puts "id" first and "status" second.
FINISHED = re.compile(rb'"id": "([^"]+)", "status": "(?:completed|failed|partial)"')
EVENT_ID = re.compile(rb"\nid: (\d+)\r?\n")


@dataclass(eq=False)
class SseClient:
    """One SSE connection read with bare asyncio streams. It scans what it
    reads in bulk (regular expressions over each read, no per-event Python
    work) and, like a browser's EventSource, reconnects with Last-Event-ID
    when the server drops it or the connection ends."""

    port: int
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    # execution id -> times its finished event arrived (time.time())
    finishes: dict[str, list[float]] = field(default_factory=dict)
    last_event_id: bytes | None = None
    drops: int = 0
    reconnects: int = 0
    error: str | None = None

    async def run(self) -> None:
        while True:
            try:
                await self._read_stream()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noted; reconnect as EventSource would
                self.error = repr(error)
                await asyncio.sleep(0.5)
            self.reconnects += 1

    async def _read_stream(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        try:
            resume = (
                f"Last-Event-ID: {self.last_event_id.decode()}\r\n" if self.last_event_id else ""
            )
            writer.write(
                f"GET {STREAM_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Accept: text/event-stream\r\n{resume}\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                raise RuntimeError(head.decode(errors="replace"))
            # The body is chunked; one event is one chunk, so the chunk-size
            # lines fall between events and the scans below ignore them.
            pending = b""
            while data := await reader.read(1 << 18):
                received_at = time.time()
                buffer = pending + data
                cut = buffer.rfind(b"\r\n\r\n") + 4
                if cut < 4:
                    pending = buffer
                    continue
                complete, pending = buffer[:cut], buffer[cut:]
                for match in FINISHED.finditer(complete):
                    self.finishes.setdefault(match.group(1).decode(), []).append(received_at)
                ids = EVENT_ID.findall(complete)
                if ids:
                    self.last_event_id = ids[-1]
                if not self.connected.is_set() and b"event: listener" in complete:
                    self.connected.set()
                if b"event: dropped" in complete:
                    self.drops += 1
                    return
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


# -- the load -----------------------------------------------------------------


@dataclass
class Load:
    completed_at: dict[str, float] = field(default_factory=dict)
    batches: int = 0
    batch_ms: list[float] = field(default_factory=list)
    behind_s: float = 0.0  # worst lag of a tick behind its schedule


def new_start(now: float) -> ExecutionStarted:
    return ExecutionStarted(
        str(uuid.uuid4()), None, "bench-user", "Create a LinkedIn post about AI", now
    )


def finish_of(start: ExecutionStarted, now: float) -> ExecutionFinished:
    return ExecutionFinished(
        *start[:5],
        completed_at=now,
        status="completed",
        response_message="Here is your LinkedIn post",
        execution_trace=[
            {
                "node": node,
                "status": "completed",
                "execution_time_ms": 5.0,
                "timestamp": now,
                "started_at": start.started_at,
                "step": step,
                "parent": None,
                "attempt": 1,
            }
            for step, node in enumerate(
                ["guardrail_check", "intent_classifier", "data_checker", "response_writer"], 1
            )
        ],
        failed_nodes=[],
        error_summary=None,
    )


async def generate(
    database_url: str, rate: float, seconds: float, run_s: float, load: Load
) -> None:
    """`rate` runs/s for `seconds`: each tick writes one batch of new starts
    and the finishes that are due."""
    cleaner = TextCleaner(65_536)
    connection = await asyncpg.connect(database_url)
    try:
        running: list[ExecutionStarted] = []
        began = time.monotonic()
        made = 0
        tick = 0
        while True:
            tick += 1
            due_at = began + tick * TICK_S
            await asyncio.sleep(max(0.0, due_at - time.monotonic()))
            load.behind_s = max(load.behind_s, time.monotonic() - due_at)
            elapsed = time.monotonic() - began
            now = time.time()
            events: list[ExecutionStarted | ExecutionFinished] = []
            while running and running[0].started_at + run_s <= now:
                start = running.pop(0)
                events.append(finish_of(start, now))
                load.completed_at[start.execution_id] = now
            if elapsed < seconds:
                wanted = int(min(elapsed, seconds) * rate) - made
                for _ in range(wanted):
                    start = new_start(now)
                    running.append(start)
                    events.append(start)
                made += wanted
            if events:
                columns, _ = batch_columns(events, cleaner)
                written = time.perf_counter()
                await queries.log_batch_v2(connection, columns)
                load.batch_ms.append((time.perf_counter() - written) * 1000)
                load.batches += 1
            if elapsed >= seconds and not running:
                return
    finally:
        await connection.close()


# -- the load generator's process -----------------------------------------------


@dataclass
class LoadResult:
    completed_at: dict[str, float]
    batches: int
    batch_ms: list[float]
    behind_s: float


def load_main(
    database_url: str, rate: float, seconds: float, run_s: float, pipe: Connection
) -> None:
    """The load generator's process: connected first (so its backend can be
    measured), then on its own schedule from the moment the parent says."""

    async def main() -> None:
        load = Load()
        warm = await asyncpg.connect(database_url)  # the first connect is the slow one
        await warm.close()
        pipe.send(("ready", os.getpid()))
        kind = await asyncio.to_thread(pipe.recv)
        assert kind == "go", kind
        await generate(database_url, rate, seconds, run_s, load)
        pipe.send(
            ("done", LoadResult(load.completed_at, load.batches, load.batch_ms, load.behind_s))
        )

    asyncio.run(main())


# -- CPU accounting -------------------------------------------------------------


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (not idle, not waiting on I/O)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # ended meanwhile: not counted
            total += proc_cpu_s(pid)
    return total


async def backend_pids(database_url: str) -> list[int]:
    """The PostgreSQL backends serving this (scratch) database: the server's
    listener and fan-out pool, and the load generator's connection."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


# -- the run ------------------------------------------------------------------


def receive(pipe: Connection, kind: str, timeout_s: float) -> Any:
    """The next message of `kind` on `pipe` (blocking: call it in a thread)."""
    if not pipe.poll(timeout_s):
        raise TimeoutError(f"no {kind!r} from a child process in {timeout_s:g} s")
    message = pipe.recv()
    assert message[0] == kind, message
    return message[1] if len(message) == 2 else message[1:]


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of `pid` on `cpus`."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(task.name), cpus)


def start_profiler(pid: int, seconds: float, output: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the server (idle frames left out) while the load runs."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "100",
            "--nonblocking",
            "--format",
            "speedscope" if output.endswith(".json") else "flamegraph",
            "--output",
            output,
        ],
        stdout=subprocess.DEVNULL,
    )


async def run(
    clients: int,
    rate: float,
    seconds: float,
    run_ms: float,
    drain_s: float,
    processes: int,
    profile: str | None,
    uvicorn_args: tuple[str, ...] = (),
    pinned: bool = False,
) -> None:
    context = multiprocessing.get_context("spawn")
    processes = max(1, min(processes, clients))
    async with scratch_database("elm_bench_stream") as database_url:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_server(database_url, port, uvicorn_args=uvicorn_args)
        children: list[multiprocessing.process.BaseProcess] = []
        try:
            await wait_for_server(base_url, server)
            rss_idle = proc_status_kb(server.pid, "VmRSS")

            load_pipe, load_end = context.Pipe()
            loader = context.Process(
                target=load_main,
                args=(database_url, rate, seconds, run_ms / 1000, load_end),
                name="bench-stream-load",
            )
            loader.start()
            children.append(loader)
            pipes: list[Connection] = []
            for index in range(processes):
                share = clients // processes + (index < clients % processes)
                ours, theirs = context.Pipe()
                worker = context.Process(
                    target=stream_clients.worker_main,
                    args=(port, share, theirs),
                    name=f"bench-stream-clients-{index}",
                )
                worker.start()
                children.append(worker)
                pipes.append(ours)
            worker_pids = [
                await asyncio.to_thread(receive, pipe, "connected", 180) for pipe in pipes
            ]
            load_pid = await asyncio.to_thread(receive, load_pipe, "ready", 60)
            if pinned:
                # The server alone on CPU 0, the harness on CPU 1 (PostgreSQL and
                # everyone else's processes still go where the kernel puts them).
                pin(server.pid, {0})
                for pid in [load_pid, *worker_pids, os.getpid()]:
                    pin(pid, {1})
            listener = (await health(base_url))["listener"]
            assert listener["clients"] == clients, listener  # type: ignore[index]
            rss_connected = proc_status_kb(server.pid, "VmRSS")
            print(
                f"{clients} clients connected over {processes} processes; "
                f"server RSS {rss_connected / 1024:.0f} MiB; load average {load_average()}"
            )

            backends = await backend_pids(database_url)
            cpu_before = {
                "server": proc_cpu_s(server.pid),
                "postgres": cpu_of(backends),
                "load": proc_cpu_s(load_pid),
                "clients": cpu_of(worker_pids),
                "machine": machine_busy_s(),
            }
            batches_before = await fan_out_batches(base_url)
            wall_before = time.monotonic()
            profiler = start_profiler(server.pid, seconds, profile) if profile else None
            load_pipe.send("go")
            load: LoadResult = await asyncio.to_thread(
                receive, load_pipe, "done", seconds + drain_s + 120
            )
            wall_s = time.monotonic() - wall_before
            cpu_s = {
                "server": proc_cpu_s(server.pid) - cpu_before["server"],
                "postgres": cpu_of(backends) - cpu_before["postgres"],
                "load": cpu_of([load_pid]) - cpu_before["load"],
                "clients": cpu_of(worker_pids) - cpu_before["clients"],
                "machine": machine_busy_s() - cpu_before["machine"],
            }
            load_after = load_average()
            batches_after = await fan_out_batches(base_url)
            deadline = time.time() + drain_s
            for pipe in pipes:
                pipe.send(("expect", load.completed_at, deadline))
            results = [
                await asyncio.to_thread(receive, pipe, "result", drain_s + 300) for pipe in pipes
            ]
            rss_end = proc_status_kb(server.pid, "VmRSS")
            rss_peak = proc_status_kb(server.pid, "VmHWM")
            final = await health(base_url)
            if profiler is not None:
                profiler.wait(60)
        finally:
            for child in children:
                child.join(10)
                if child.is_alive():
                    child.kill()
            stop_server(server)

    seen = stream_clients.WorkerResult()
    for result in results:
        seen.add(result)
    expected = len(load.completed_at)
    pairs = expected * clients
    ours = sum(value for key, value in cpu_s.items() if key != "machine")
    shares = [
        (f"CPU: {name}", f"{100 * cpu_s[key] / wall_s:.0f}% of one core")
        for name, key in [
            ("server (uvicorn, 1 process)", "server"),
            ("PostgreSQL backends of the bench database", "postgres"),
            ("load generator (1 process)", "load"),
            (f"SSE clients ({processes} processes)", "clients"),
        ]
    ]
    shares.append(
        (
            "CPU: everything else on the machine",
            f"{100 * max(0.0, cpu_s['machine'] - ours) / wall_s:.0f}% of one core",
        )
    )
    shares.append(("CPU: machine busy (2 cores = 200%)", f"{100 * cpu_s['machine'] / wall_s:.0f}%"))
    per_write = "n/a (no execution_stream_fetches in /metrics)"
    if batches_before is not None and batches_after is not None and batches_after > batches_before:
        batches = batches_after - batches_before
        per_write = (
            f"{1e6 * cpu_s['server'] / (batches * clients):.1f} us "
            f"({batches:,.0f} batches, each to {clients} clients)"
        )
    print_table(
        f"SSE freshness: {clients} clients in {processes} processes, {rate:g} runs/s for "
        f"{seconds:g} s (start and finish {run_ms:g} ms apart: 2 events per run per client)",
        [
            ("measure", "value"),
            ("finished runs written", f"{expected:,}"),
            ("(client, run) pairs expected", f"{pairs:,}"),
            ("finish -> client p50", f"{seen.percentile_ms(0.5):.1f} ms"),
            ("finish -> client p99", f"{seen.percentile_ms(0.99):.1f} ms"),
            ("finish -> client max", f"{seen.max_ms:.1f} ms"),
            ("events lost (pairs never received)", f"{seen.missing:,}"),
            ("duplicate events", f"{seen.duplicates:,}"),
            ("unexpected events", f"{seen.unexpected:,}"),
            ("times a client was dropped as too slow", f"{seen.drops:,}"),
            ("client reconnects (Last-Event-ID)", f"{seen.reconnects:,}"),
            ("client errors", f"{sum(seen.errors.values())}"),
            ("server RSS idle", f"{rss_idle / 1024:.1f} MiB"),
            ("server RSS, clients connected", f"{rss_connected / 1024:.1f} MiB"),
            ("server RSS at end / peak", f"{rss_end / 1024:.1f} / {rss_peak / 1024:.1f} MiB"),
            *shares,
            ("server CPU per (client, batch)", per_write),
            ("log_batch per tick p50", f"{statistics.median(load.batch_ms):.1f} ms"),
            ("load generator worst lag", f"{load.behind_s * 1000:.0f} ms"),
            ("load average after the load", load_after),
            ("server: uvicorn", server_flavour(uvicorn_args)),
            ("pinned", "server on CPU 0, clients and load on CPU 1" if pinned else "no"),
            ("clients' event loop", seen.loop),
            ("server listener", json.dumps(final["listener"])),
        ],
    )
    for error, count in seen.errors.most_common(3):
        print(f"  {count} clients: {error}")
    if profile:
        print(f"\nserver profile (py-spy, {seconds:g} s of load): {profile}")
    ok = seen.percentile_ms(0.99) < TARGET_P99_MS and seen.missing == seen.duplicates == 0
    print(f"\ntarget (p99 < {TARGET_P99_MS:g} ms, nothing lost): {'met' if ok else 'NOT met'}")


def server_flavour(uvicorn_args: tuple[str, ...]) -> str:
    """uvicorn's loop and HTTP parser, with `auto` resolved as uvicorn resolves it."""
    options = dict(zip(uvicorn_args[::2], uvicorn_args[1::2], strict=True))
    loop = options.get("--loop", "auto")
    http = options.get("--http", "auto")
    if loop == "auto":
        loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    if http == "auto":
        http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"--loop {loop} --http {http}"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=float, default=200, help="runs per second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--run-ms", type=float, default=250, help="from a run's start to its finish"
    )
    parser.add_argument(
        "--drain-seconds", type=float, default=30, help="wait this long for late events"
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=4,
        help="worker processes the SSE clients are spread over",
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="record the server with py-spy during the load (.svg flame graph, .json speedscope)",
    )
    parser.add_argument(
        "--server-loop",
        default="auto",
        help="uvicorn's --loop (auto: uvloop if importable, else asyncio)",
    )
    parser.add_argument(
        "--server-http",
        default="auto",
        help="uvicorn's --http (auto: httptools if importable, else h11)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the server alone on CPU 0, the clients and the load on CPU 1",
    )
    args = parser.parse_args()
    asyncio.run(
        run(
            args.clients,
            args.rate,
            args.seconds,
            args.run_ms,
            args.drain_seconds,
            args.client_processes,
            args.profile,
            ("--loop", args.server_loop, "--http", args.server_http),
            args.pin,
        )
    )


if __name__ == "__main__":
    main()
