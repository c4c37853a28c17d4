"""Stream benchmark: freshness of the SSE stream under load.

    make bench-stream          # or: python -m bench.stream [--clients 500] [--rate 200]
                               #     [--seconds 60] [--run-ms 250]

The app runs in a real uvicorn in a subprocess (`uvicorn app.api.main:app`,
one process, as the seed runs it) on a scratch database, so the clients' CPU is
not the server's and the server's memory can be read from /proc. `--clients`
SSE clients connect to /api/v1/monitoring/stream: lean raw-asyncio HTTP/1.1
readers that scan what they read in bulk (an httpx client per connection
costs more CPU than the server on a 2-core machine), all in this process.

Load: `--rate` runs per second for `--seconds`, written straight into the
database through the batch function `log_batch`, as the background writer
would write them. This isolates the stream path: NOTIFY at commit, the one
LISTEN connection, fetch by ids, fan-out, SSE. Every 50 ms one batch holds the
starts of new runs and the finishes of runs started `--run-ms` earlier, so a
run is two events (start, then finish), each sent to every client. A finish's
`completed_at` is taken just before its batch is written.

Reported:
  * latency: the time from a run's `completed_at` to the moment a client
    read its finished event, over every (client, finished run) pair: p50,
    p99, max. It includes the commit, NOTIFY, the server's fetch and
    fan-out, and this process's own scheduling delay (so it is an upper
    bound); it excludes the writer's batching delay (up to its 50 ms flush
    interval in the app);
  * events lost: (client, finished run) pairs never received, and
    duplicates. A client the server drops as too slow reconnects with
    Last-Event-ID, as a browser's EventSource does, and must still get
    everything once; how often that happened is reported;
  * the server's memory (VmRSS from /proc/<pid>/status) idle, with the
    clients connected, at the end, and its peak (VmHWM); the server's CPU.
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.common import percentile, print_table, scratch_database
from langgraph_execution_monitor.events import ExecutionFinished, ExecutionStarted
from langgraph_execution_monitor.rows import TextCleaner, batch_columns
from langgraph_execution_monitor.storage import queries

STREAM_PATH = "/api/v1/monitoring/stream"
TICK_S = 0.05
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
    database_url: str, port: int, app: str = "app.api.main:app", **env: str
) -> subprocess.Popen[bytes]:
    """`app` in a uvicorn subprocess on 127.0.0.1:`port`; `env` added to its environment."""
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


# -- the run ------------------------------------------------------------------


async def run(clients: int, rate: float, seconds: float, run_ms: float, drain_s: float) -> None:
    async with scratch_database("elm_bench_stream") as database_url:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_server(database_url, port)
        tasks: list[asyncio.Task[None]] = []
        try:
            await wait_for_server(base_url, server)
            rss_idle = proc_status_kb(server.pid, "VmRSS")

            readers = [SseClient(port) for _ in range(clients)]
            for index, reader in enumerate(readers):
                tasks.append(asyncio.create_task(reader.run(), name=f"sse-{index}"))
                if index % 50 == 49:
                    await asyncio.sleep(0.05)  # do not flood the accept queue
            await asyncio.wait_for(
                asyncio.gather(*(reader.connected.wait() for reader in readers)), 60
            )
            listener = (await health(base_url))["listener"]
            assert listener["clients"] == clients, listener  # type: ignore[index]
            rss_connected = proc_status_kb(server.pid, "VmRSS")
            print(f"{clients} clients connected; server RSS {rss_connected / 1024:.0f} MiB")

            load = Load()
            cpu_before, wall_before = proc_cpu_s(server.pid), time.monotonic()
            own_cpu_before = time.process_time()
            await generate(database_url, rate, seconds, run_ms / 1000, load)
            expected = set(load.completed_at)

            def received_all() -> bool:
                return all(len(reader.finishes) >= len(expected) for reader in readers)

            deadline = time.monotonic() + drain_s
            while not received_all() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            cpu_s = proc_cpu_s(server.pid) - cpu_before
            own_cpu_s = time.process_time() - own_cpu_before
            wall_s = time.monotonic() - wall_before
            rss_end = proc_status_kb(server.pid, "VmRSS")
            rss_peak = proc_status_kb(server.pid, "VmHWM")
            final = await health(base_url)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            stop_server(server)

    latencies_ms: list[float] = []
    missing = duplicates = unexpected = 0
    for reader in readers:
        for execution_id, times in reader.finishes.items():
            completed_at = load.completed_at.get(execution_id)
            if completed_at is None:
                unexpected += 1
                continue
            duplicates += len(times) - 1
            latencies_ms.append((times[0] - completed_at) * 1000)
        missing += len(expected - reader.finishes.keys())
    drops = sum(reader.drops for reader in readers)
    reconnects = sum(reader.reconnects for reader in readers)
    errors = Counter(reader.error for reader in readers if reader.error)

    pairs = len(expected) * clients
    print_table(
        f"SSE freshness: {clients} clients, {rate:g} runs/s for {seconds:g} s "
        f"(start and finish {run_ms:g} ms apart: 2 events per run per client)",
        [
            ("measure", "value"),
            ("finished runs written", f"{len(expected):,}"),
            ("(client, run) pairs expected", f"{pairs:,}"),
            ("finish -> client p50", f"{statistics.median(latencies_ms):.1f} ms"),
            ("finish -> client p99", f"{percentile(latencies_ms, 0.99):.1f} ms"),
            ("finish -> client max", f"{max(latencies_ms):.1f} ms"),
            ("events lost (pairs never received)", f"{missing:,}"),
            ("duplicate events", f"{duplicates:,}"),
            ("times a client was dropped as too slow", f"{drops:,}"),
            ("client reconnects (Last-Event-ID)", f"{reconnects:,}"),
            ("client errors", f"{sum(errors.values())}"),
            ("server RSS idle", f"{rss_idle / 1024:.1f} MiB"),
            ("server RSS, clients connected", f"{rss_connected / 1024:.1f} MiB"),
            ("server RSS at end / peak", f"{rss_end / 1024:.1f} / {rss_peak / 1024:.1f} MiB"),
            ("server CPU during load", f"{100 * cpu_s / wall_s:.0f}% of one core"),
            ("clients + load generator CPU", f"{100 * own_cpu_s / wall_s:.0f}% of one core"),
            ("log_batch per tick p50", f"{statistics.median(load.batch_ms):.1f} ms"),
            ("load generator worst lag", f"{load.behind_s * 1000:.0f} ms"),
            ("server listener", json.dumps(final["listener"])),
        ],
    )
    for error, count in errors.most_common(3):
        print(f"  {count} clients: {error}")
    ok = percentile(latencies_ms, 0.99) < 300 and missing == duplicates == 0
    print(f"\ntarget (p99 < 300 ms, nothing lost): {'met' if ok else 'NOT met'}")


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
    args = parser.parse_args()
    asyncio.run(run(args.clients, args.rate, args.seconds, args.run_ms, args.drain_seconds))


if __name__ == "__main__":
    main()
