"""The stream benchmark's SSE clients, run in worker processes of their own.

One worker process holds `count` SSE connections to the server's stream, read
by plain asyncio protocols (`data_received`, no coroutine, no HTTP client per
event; uvloop if it is importable). Each read is stamped with `time.time()`
(the load generator, another process on the same machine, stamps a finish with
the same clock) and scanned in bulk for the ids of finished runs. Ids become
small integers shared by the worker's clients, and each client keeps the first
arrival of each finish in an array indexed by them, so a million
(client, run) pairs cost 8 MB, not a dict entry each.

The parent talks to a worker over a pipe:
  worker -> parent: ("connected", pid)
  parent -> worker: ("expect", {execution id: completed_at}, drain deadline)
  worker -> parent: ("result", WorkerResult)
Latencies are merged as histograms of 0.1 ms buckets (exact to 0.1 ms), so
the parent never holds one float per pair.
"""

import asyncio
import contextlib
import os
import re
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

STREAM_PATH = "/api/v1/monitoring/stream"
BUCKETS_PER_MS = 10

# A finished execution's event: jsonb puts "id" first and "status" second.
FINISHED = re.compile(rb'"id": "([^"]+)", "status": "(?:completed|failed|partial)"')
EVENT_ID = re.compile(rb"\nid: (\d+)\r?\n")


@dataclass
class WorkerResult:
    """What one worker's clients saw, ready to be added to the others'."""

    clients: int = 0
    # latency (finish -> read) in 0.1 ms buckets -> (client, run) pairs
    histogram: Counter[int] = field(default_factory=Counter)
    max_ms: float = 0.0
    received: int = 0  # (client, expected run) pairs received at least once
    missing: int = 0
    duplicates: int = 0
    unexpected: int = 0  # finishes of runs the load did not write (never expected)
    drops: int = 0
    reconnects: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    loop: str = ""  # the workers' event loop class

    def add(self, other: "WorkerResult") -> None:
        self.clients += other.clients
        self.histogram.update(other.histogram)
        self.max_ms = max(self.max_ms, other.max_ms)
        self.received += other.received
        self.missing += other.missing
        self.duplicates += other.duplicates
        self.unexpected += other.unexpected
        self.drops += other.drops
        self.reconnects += other.reconnects
        self.errors.update(other.errors)
        self.loop = other.loop

    def percentile_ms(self, q: float) -> float:
        """The q-quantile of the pairs' latencies (to 0.1 ms)."""
        total = sum(self.histogram.values())
        if not total:
            return float("nan")
        rank = min(total - 1, int(q * total))
        seen = 0
        for bucket in sorted(self.histogram):
            seen += self.histogram[bucket]
            if seen > rank:
                return bucket / BUCKETS_PER_MS
        raise AssertionError("unreachable")


class RunIndex:
    """Execution id -> a small integer, shared by one worker's clients."""

    def __init__(self) -> None:
        self.index: dict[bytes, int] = {}

    def of(self, execution_id: bytes) -> int:
        number = self.index.get(execution_id)
        if number is None:
            number = self.index[execution_id] = len(self.index)
        return number


class SseClient(asyncio.Protocol):
    """One stream connection. Like a browser's EventSource, it reconnects with
    Last-Event-ID when the server drops it or the connection ends."""

    def __init__(self, port: int, runs: RunIndex) -> None:
        self.port = port
        self.runs = runs
        self.connected = asyncio.Event()  # the first `listener` event arrived
        self.first_seen = array("d")  # by run number: time.time() of its first finish
        self.finishes = 0  # distinct runs whose finish arrived
        self.duplicates = 0
        self.last_event_id: bytes | None = None
        self.drops = 0
        self.reconnects = 0
        self.error: str | None = None
        self._head_done = False
        self._pending = b""
        self._closed: asyncio.Future[None] | None = None
        self._transport: asyncio.Transport | None = None

    # -- the connection loop ------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                self._closed = loop.create_future()
                await loop.create_connection(lambda: self, "127.0.0.1", self.port)
                await self._closed
            except asyncio.CancelledError:
                if self._transport is not None:
                    self._transport.abort()
                raise
            except Exception as error:  # noted; reconnect as EventSource would
                self.error = repr(error)
                await asyncio.sleep(0.5)
            self.reconnects += 1

    # -- asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: no isinstance.
        self._transport = transport  # type: ignore[assignment]
        self._head_done = False
        self._pending = b""
        resume = f"Last-Event-ID: {self.last_event_id.decode()}\r\n" if self.last_event_id else ""
        transport.write(
            f"GET {STREAM_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Accept: text/event-stream\r\n{resume}\r\n".encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if exc is not None:
            self.error = repr(exc)
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        received_at = time.time()
        buffer = self._pending + data
        if not self._head_done:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self._pending = buffer
                return
            status_line = buffer.split(b"\r\n", 1)[0]
            if b" 200 " not in status_line:
                self.error = status_line.decode(errors="replace")
                self._end()
                return
            self._head_done = True
            buffer = buffer[end + 4 :]
        # The body is chunked; one write is one chunk, so the chunk-size lines
        # fall between events and the scans below ignore them.
        cut = buffer.rfind(b"\r\n\r\n") + 4
        if cut < 4:
            self._pending = buffer
            return
        complete, self._pending = buffer[:cut], buffer[cut:]
        seen = self.first_seen
        of = self.runs.of
        for match in FINISHED.finditer(complete):
            number = of(match.group(1))
            if number >= len(seen):
                seen.extend([0.0] * (number + 1024 - len(seen)))
            if seen[number]:
                self.duplicates += 1
            else:
                seen[number] = received_at
                self.finishes += 1
        # Only the last id matters (for a resume): searched from the end, as is
        # `dropped`, which can only end a stream (whole-buffer scans of merged
        # batches were a quarter of a client's CPU).
        last = EVENT_ID.search(complete, max(0, complete.rfind(b"\nid: ") - 1))
        if last:
            self.last_event_id = last.group(1)
        if not self.connected.is_set() and b"event: listener" in complete:
            self.connected.set()
        if b"event: dropped" in complete[-1024:]:
            self.drops += 1
            self._end()

    def _end(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def received(self, number: int) -> float:
        return self.first_seen[number] if number < len(self.first_seen) else 0.0


async def _serve(port: int, count: int, pipe: Connection) -> None:
    runs = RunIndex()
    clients = [SseClient(port, runs) for _ in range(count)]
    tasks = []
    for index, client in enumerate(clients):
        tasks.append(asyncio.create_task(client.run()))
        if index % 50 == 49:
            await asyncio.sleep(0.05)  # do not flood the server's accept queue
    await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 120)
    pipe.send(("connected", os.getpid()))

    kind, expected, deadline = await asyncio.to_thread(pipe.recv)
    assert kind == "expect", kind
    numbers = {runs.of(execution_id.encode()): at for execution_id, at in expected.items()}

    def complete() -> bool:
        return all(client.finishes >= len(numbers) for client in clients)

    while time.time() < deadline and not complete():  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    loop = asyncio.get_running_loop()
    result = WorkerResult(clients=count, loop=f"{type(loop).__module__}.{type(loop).__name__}")
    for client in clients:
        for number, completed_at in numbers.items():
            arrived = client.received(number)
            if not arrived:
                result.missing += 1
                continue
            latency_ms = (arrived - completed_at) * 1000
            result.received += 1
            result.histogram[max(0, int(latency_ms * BUCKETS_PER_MS))] += 1
            result.max_ms = max(result.max_ms, latency_ms)
        result.unexpected += sum(
            1 for n, at in enumerate(client.first_seen) if at and n not in numbers
        )
        result.duplicates += client.duplicates
        result.drops += client.drops
        result.reconnects += client.reconnects
        if client.error:
            result.errors[client.error] += 1
    pipe.send(("result", result))


def worker_main(port: int, count: int, pipe: Connection) -> None:
    """A client worker process's entry point."""
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        asyncio.run(_serve(port, count, pipe))
    else:
        uvloop.run(_serve(port, count, pipe))
    with contextlib.suppress(OSError):
        pipe.close()
