"""The fan-out's direct path, against a real uvicorn with real clients: an idle
client's batches are written by the fan-out itself; a client that falls behind
(its connection's buffer holds data) gets them queued, and every client gets
every change once, in order, whichever path each batch took; a send chain that
would wait turns the direct path off without losing or reordering anything."""

import asyncio
import json
import socket
from collections.abc import Callable
from typing import Any

import asyncpg
import h11
import pytest

from langgraph_execution_monitor.api.stream_response import ConnectionGuard, StreamResponse
from langgraph_execution_monitor.live_events import ExecutionBroadcaster, StreamFilters
from langgraph_execution_monitor.storage.queries import ChangePosition
from tests.conftest import LiveServer
from tests.factories import finished, started, write
from tests.test_stream import STREAM, StreamClient, connected, position, until
from tests.test_stream_faults import assert_ordered_once, last_seen, table_changes


async def write_one_by_one(db: asyncpg.Connection, count: int) -> list[str]:
    """`count` runs started and finished, each write its own transaction (and
    so, mostly, its own batch on the stream)."""
    ids: list[str] = []
    for _ in range(count):
        run = started()
        await write(db, run)
        await write(db, finished(run))
        ids.append(run.execution_id)
    return ids


async def test_an_idle_clients_batches_are_written_by_the_fan_out_itself(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    async with StreamClient(live_server.url) as client:
        await until(lambda: broadcaster.subscriber_count == 1, "the subscriber")
        ids = await write_one_by_one(db, 10)
        await client.wait_for_ids(*ids)
        expected = await table_changes(db)
        await client.wait_for(lambda: last_seen(client) == expected, "every change")

    assert_ordered_once(client)
    assert broadcaster.stats.batches_sent_directly >= 1
    assert broadcaster.stats.batches_queued == 0


async def test_batches_that_alternate_between_direct_and_queued_arrive_once_in_order(
    live_server: LiveServer, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    send_now = StreamResponse.send_now
    calls = 0

    def every_other(self: StreamResponse, body: bytes) -> bool:
        nonlocal calls
        calls += 1
        return calls % 2 == 0 and send_now(self, body)

    monkeypatch.setattr(StreamResponse, "send_now", every_other)
    broadcaster = await connected(live_server)
    async with StreamClient(live_server.url) as client:
        await until(lambda: broadcaster.subscriber_count == 1, "the subscriber")
        ids = await write_one_by_one(db, 20)
        await client.wait_for_ids(*ids)
        expected = await table_changes(db)
        await client.wait_for(lambda: last_seen(client) == expected, "every change")

    assert_ordered_once(client)
    assert broadcaster.stats.batches_sent_directly >= 1
    assert broadcaster.stats.batches_queued >= 1


class RawSseClient:
    """An SSE client on a plain socket with a tiny receive buffer, which reads
    only when told to: the server's buffers for it fill while it does not."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.http = h11.Connection(our_role=h11.CLIENT)
        self.text = ""
        self.events: list[dict[str, str]] = []

    @classmethod
    async def open(cls, live_server: LiveServer) -> "RawSseClient":
        host, port = live_server.url.removeprefix("http://").split(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, (host, int(port)))
        client = cls(sock)
        request = h11.Request(
            method="GET",
            target=STREAM,
            headers=[("Host", host), ("Accept", "text/event-stream")],
        )
        await loop.sock_sendall(
            sock, client.http.send(request) + client.http.send(h11.EndOfMessage())
        )
        await client.read_until(lambda: any(e.get("event") == "listener" for e in client.events))
        return client

    async def read_until(self, condition: Callable[[], bool], timeout_s: float = 15) -> None:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout_s):
            while not condition():
                self.http.receive_data(await loop.sock_recv(self.sock, 65536))
                while (event := self.http.next_event()) not in (h11.NEED_DATA, h11.PAUSED):
                    if isinstance(event, h11.Data):
                        self._parse(bytes(event.data).decode())

    def _parse(self, text: str) -> None:
        self.text += text
        *complete, self.text = self.text.split("\r\n\r\n")
        for block in complete:
            fields: dict[str, str] = {}
            for line in block.split("\r\n"):
                name, _, value = line.partition(": ")
                fields[name] = value
            self.events.append(fields)

    def executions(self) -> list[tuple[tuple[int, int], dict[str, Any]]]:
        return [
            (position(e["id"]), json.loads(e["data"]))
            for e in self.events
            if e.get("event") == "execution"
        ]


async def test_a_client_that_falls_behind_gets_batches_queued_then_direct_again_all_in_order(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    client = await RawSseClient.open(live_server)
    try:
        await until(lambda: broadcaster.subscriber_count == 1, "the subscriber")
        big = "x" * 60_000
        runs = [started(request_message=big) for _ in range(100)]
        # About 6 MB while the client does not read: its kernel buffers fill,
        # then the connection's, and the later batches wait in its queue.
        for index in range(0, 100, 10):
            await write(db, *runs[index : index + 10])
        await until(lambda: broadcaster.stats.batches_queued >= 1, "a batch queued")
        ids = {run.execution_id for run in runs}
        await client.read_until(lambda: ids <= {e["id"] for _, e in client.executions()})
        direct_before = broadcaster.stats.batches_sent_directly
        # Caught up: idle again, and the next batches go the direct way.
        later = await write_one_by_one(db, 3)
        await client.read_until(lambda: set(later) <= {e["id"] for _, e in client.executions()})
    finally:
        client.sock.close()

    sequence = [at for at, _ in client.executions()]
    assert sequence == sorted(set(sequence)), "an event came twice or out of order"
    assert broadcaster.stats.batches_sent_directly > direct_before
    assert broadcaster.stats.subscribers_dropped == 0


class WaitingSend:
    """A layer whose send yields to the event loop before it sends (as
    Starlette's BaseHTTPMiddleware's does): a direct send would have to wait."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def waiting_send(message: Any) -> None:
            await asyncio.sleep(0)
            await send(message)

        await self.app(scope, receive, waiting_send)


async def test_a_send_chain_that_would_wait_turns_direct_sends_off_and_loses_nothing(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster: ExecutionBroadcaster = await connected(live_server)
    guard = live_server.app.middleware_stack
    assert isinstance(guard, ConnectionGuard)
    guard.app = WaitingSend(guard.app)  # inside the guard: the transport is still known
    async with StreamClient(live_server.url) as client:
        await until(lambda: broadcaster.subscriber_count == 1, "the subscriber")
        ids = await write_one_by_one(db, 10)
        await client.wait_for_ids(*ids)
        expected = await table_changes(db)
        await client.wait_for(lambda: last_seen(client) == expected, "every change")

    assert_ordered_once(client)
    assert broadcaster.stats.batches_sent_directly == 0
    assert broadcaster.stats.batches_queued >= 1


class FakeTransport:
    def __init__(self) -> None:
        self.buffered = 0

    def get_write_buffer_size(self) -> int:
        return self.buffered


def direct_response(send: Any, transport: FakeTransport) -> StreamResponse:
    response = StreamResponse(iter(()))
    response._write_buffer_empty = lambda: transport.get_write_buffer_size() == 0
    response._send = send
    return response


async def test_send_now_writes_only_when_nothing_is_buffered() -> None:
    sent: list[bytes] = []

    async def send(message: Any) -> None:
        sent.append(message["body"])

    transport = FakeTransport()
    response = direct_response(send, transport)
    assert response.send_now(b"a")
    transport.buffered = 10
    assert not response.send_now(b"b")
    assert sent == [b"a"]


async def test_send_now_closes_a_send_that_waits_and_is_off_from_then_on() -> None:
    sent: list[bytes] = []
    calls = 0

    async def send(message: Any) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        sent.append(message["body"])

    response = direct_response(send, FakeTransport())
    assert not response.send_now(b"a")
    assert not response.send_now(b"b")
    await asyncio.sleep(0.01)
    assert sent == [] and calls == 1


async def test_without_the_connection_guard_send_now_declines() -> None:
    response = StreamResponse(iter(()))
    assert not response.send_now(b"a")


def test_a_direct_delivery_that_raises_queues_the_batch_and_the_fan_out_goes_on() -> None:
    broadcaster = ExecutionBroadcaster("postgresql://unused")
    failing = broadcaster.subscribe(StreamFilters())
    other = broadcaster.subscribe(StreamFilters())

    def broken(batch: Any) -> bool:
        raise RuntimeError("a bug in the direct path")

    failing.deliver_now = broken
    broadcaster._broadcast([(ChangePosition(1, 1), json.dumps({"id": "a"}))])

    assert failing.queue.qsize() == 1 and other.queue.qsize() == 1
    assert failing.deliver_now is None
    assert broadcaster.stats.batches_queued == 2
