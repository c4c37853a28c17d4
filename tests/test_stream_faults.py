"""The live stream under faults, with real SSE clients against a real uvicorn:
the listener's and the fan-out's connections terminated while runs are being
written, the fan-out's reads failing for a while, the request pool exhausted,
resumes too far back (a `reset`), and clients too slow to keep up, whose TCP
connection must really end."""

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import psutil
import pytest
from sse_starlette.sse import SendTimeoutError

from app.config import Settings
from langgraph_execution_monitor.api.stream_response import (
    ABORT_KEY,
    WRITE_BUFFER_EMPTY_KEY,
    ConnectionGuard,
    StreamResponse,
)
from langgraph_execution_monitor.live_events import ExecutionBroadcaster, StreamFilters
from tests.conftest import LiveServer
from tests.factories import finished, started, write
from tests.test_stream import (
    STREAM,
    StreamClient,
    change_position,
    connected,
    event_id,
    terminate_listener,
    until,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.stream_send_timeout_s = 1.0
    return settings


async def table_changes(db: asyncpg.Connection) -> dict[str, tuple[tuple[int, int], str]]:
    """Each execution's latest change (its place in the change order) and status."""
    rows = await db.fetch("SELECT id, change_xid, change_seq, status FROM execution_logs")
    return {row["id"]: ((row["change_xid"], row["change_seq"]), row["status"]) for row in rows}


def last_seen(client: StreamClient) -> dict[str, tuple[tuple[int, int], str]]:
    seen: dict[str, tuple[tuple[int, int], str]] = {}
    for seq, execution in client.executions():
        seen[execution["id"]] = (seq, execution["status"])
    return seen


def assert_ordered_once(client: StreamClient) -> None:
    sequence = [seq for seq, _ in client.executions()]
    assert sequence == sorted(set(sequence)), "an event came twice or out of order"


@contextlib.asynccontextmanager
async def steady_writes(database_url: str, interval_s: float = 0.01) -> AsyncIterator[list[str]]:
    """Start and finish a run every `interval_s` until the block ends."""
    ids: list[str] = []
    connection = await asyncpg.connect(database_url)

    async def run() -> None:
        while True:
            start = started()
            await write(connection, start)
            await write(connection, finished(start))
            ids.append(start.execution_id)
            await asyncio.sleep(interval_s)

    task = asyncio.create_task(run())
    try:
        yield ids
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await connection.close()


async def terminate(db: asyncpg.Connection, application_name: str) -> int:
    return await db.fetchval(
        "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
        " WHERE application_name = $1 AND datname = current_database()",
        application_name,
    )


async def test_terminating_the_listener_during_writes_loses_no_change(
    live_server: LiveServer, db: asyncpg.Connection, database_url: str
) -> None:
    broadcaster = await connected(live_server)
    async with StreamClient(live_server.url) as client:
        async with steady_writes(database_url) as ids:
            await until(lambda: len(ids) >= 10, "some runs before the kill")
            await terminate_listener(db)
            await until(lambda: broadcaster.stats.reconnects >= 1, "the listener to notice")
            await until(lambda: broadcaster.state == "connected", "the listener to reconnect")
            written = len(ids)
            await until(lambda: len(ids) >= written + 10, "some runs after the reconnect")
        expected = await table_changes(db)
        await client.wait_for(lambda: last_seen(client) == expected, "every change")

    assert_ordered_once(client)
    assert all(status == "completed" for _, status in last_seen(client).values())


async def test_terminating_the_fan_out_connections_during_writes_loses_no_change(
    live_server: LiveServer, db: asyncpg.Connection, database_url: str
) -> None:
    await connected(live_server)
    async with StreamClient(live_server.url) as client:
        async with steady_writes(database_url) as ids:
            await until(lambda: len(ids) >= 10, "some runs before the kill")
            assert await terminate(db, "execution-fan-out") >= 1
            written = len(ids)
            await until(lambda: len(ids) >= written + 10, "some runs after the kill")
        expected = await table_changes(db)
        await client.wait_for(lambda: last_seen(client) == expected, "every change")

    assert_ordered_once(client)


def failing_reads(broadcaster: ExecutionBroadcaster) -> Callable[[bool], None]:
    """A test hook: while switched on, the fan-out's reads fail as a
    cancelled statement does (a lock held past the statement timeout)."""
    real = broadcaster.changes_since
    failing = {"on": False}

    async def changes_since(*args: Any, **kwargs: Any) -> list[tuple[int, str]]:
        if failing["on"]:
            raise asyncpg.QueryCanceledError("canceling statement due to statement timeout")
        return await real(*args, **kwargs)

    broadcaster.changes_since = changes_since  # type: ignore[method-assign]
    return lambda on: failing.update(on=on)


async def test_changes_announced_while_reads_fail_arrive_once_reads_work(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    switch = failing_reads(broadcaster)
    async with StreamClient(live_server.url) as client:
        before = started()
        await write(db, before)
        await client.wait_for_ids(before.execution_id)

        switch(True)
        during = [started() for _ in range(5)]
        await write(db, *during[:2])
        await until(lambda: broadcaster.stats.fetch_errors >= 3, "reads to fail")
        await write(db, *during[2:], finished(before))
        errors = broadcaster.stats.fetch_errors
        await until(lambda: broadcaster.stats.fetch_errors > errors, "more failed reads")
        switch(False)
        expected = await table_changes(db)
        await client.wait_for(lambda: last_seen(client) == expected, "every change")

    assert_ordered_once(client)
    assert set(last_seen(client)) == {before.execution_id, *(r.execution_id for r in during)}


async def test_the_stream_delivers_while_the_request_pool_is_exhausted(
    live_server: LiveServer, db: asyncpg.Connection, settings: Settings
) -> None:
    await connected(live_server)
    pool: asyncpg.Pool = live_server.app.state.pool
    held = [await pool.acquire() for _ in range(settings.db_pool_max_size)]
    try:
        async with StreamClient(live_server.url) as client:
            run = started()
            await write(db, run)
            await client.wait_for_ids(run.execution_id)
    finally:
        for connection in held:
            await pool.release(connection)

    assert client.ids_seen() == [run.execution_id]


def resets(client: StreamClient) -> list[dict[str, Any]]:
    return [json.loads(event.data) for event in client.events if event.event == "reset"]


async def test_last_event_id_zero_past_the_replay_cap_gets_a_reset_not_every_row(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    broadcaster.replay_max_changes = 5
    await write(db, *(started() for _ in range(8)))
    latest = event_id(
        await db.fetchrow(
            "SELECT change_xid, change_seq FROM execution_logs"
            " ORDER BY change_xid DESC, change_seq DESC LIMIT 1"
        )
    )

    async with StreamClient(live_server.url, headers={"Last-Event-ID": "0"}) as client:
        await client.wait_for(lambda: bool(resets(client)), "a reset event")
        live = started()
        await write(db, live)
        await client.wait_for_ids(live.execution_id)

    (reset,) = resets(client)
    assert reset["latest"] == latest and "reload" in reset["reason"]
    reset_event = next(event for event in client.events if event.event == "reset")
    assert reset_event.id == latest  # the client resumes from here next time
    assert client.ids_seen() == [live.execution_id]
    assert broadcaster.stats.replay_resets == 1


async def test_a_resume_within_the_cap_replays(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    broadcaster.replay_max_changes = 5
    runs = [started() for _ in range(4)]
    await write(db, *runs)

    async with StreamClient(live_server.url, headers={"Last-Event-ID": "0"}) as client:
        await client.wait_for_ids(*(run.execution_id for run in runs))

    assert not resets(client)


async def test_a_resume_older_than_the_age_cap_gets_a_reset(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    broadcaster.replay_max_age_s = 600
    mark = started()
    await write(db, mark)
    mark_at = await change_position(db, mark.execution_id)
    old = started(ago_s=3600)
    await write(db, finished(old, duration_s=1))

    async with StreamClient(
        live_server.url, headers={"Last-Event-ID": event_id(mark_at)}
    ) as client:
        await client.wait_for(lambda: bool(resets(client)), "a reset event")

    assert "older than 600 s" in resets(client)[0]["reason"]
    assert client.ids_seen() == []


async def test_an_event_id_this_database_never_had_gets_a_reset(
    live_server: LiveServer,
) -> None:
    await connected(live_server)

    async with StreamClient(live_server.url, headers={"Last-Event-ID": "999999"}) as client:
        await client.wait_for(lambda: bool(resets(client)), "a reset event")

    assert "unknown event id" in resets(client)[0]["reason"]


# -- slow clients: their connection really ends -------------------------------


def server_has_connection_from(port: int) -> bool:
    return any(
        conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
        for conn in psutil.Process().net_connections(kind="tcp")
    )


async def raw_stream_socket(
    live_server: LiveServer, *, receive_buffer: int | None
) -> tuple[socket.socket, bytes]:
    """A client that sends the request, reads the headers and the first event
    (returned with the socket), then reads no more."""
    host, port = live_server.url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, int(port)))
    request = f"GET {STREAM} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"
    await loop.sock_sendall(sock, request.encode())
    received = b""
    while b"event: listener" not in received:
        received += await asyncio.wait_for(loop.sock_recv(sock, 4096), 10)
    return sock, received


async def read_until_closed(sock: socket.socket) -> bytes:
    """Everything until the server ends the connection (EOF or reset)."""
    loop = asyncio.get_running_loop()
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := await asyncio.wait_for(loop.sock_recv(sock, 65536), 15):
            received += chunk
    return received


async def test_a_dropped_client_is_disconnected(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    broadcaster.client_queue_size = 3
    sock, head = await raw_stream_socket(live_server, receive_buffer=None)
    port = sock.getsockname()[1]
    try:
        await until(lambda: broadcaster.subscriber_count == 1, "the subscriber")
        await write(db, *(started() for _ in range(10)))
        await until(lambda: broadcaster.stats.subscribers_dropped == 1, "the drop")
        received = await read_until_closed(sock)
    finally:
        sock.close()

    assert b"event: dropped" in received
    assert b"\r\nconnection: close\r\n" in head.lower()  # not kept alive
    await until(lambda: not server_has_connection_from(port), "the server to close it")


async def test_a_client_that_stops_reading_is_disconnected_after_the_send_timeout(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    sock, _ = await raw_stream_socket(live_server, receive_buffer=4096)
    port = sock.getsockname()[1]
    big = "x" * 60_000
    try:
        # About 9 MB of events: more than the kernel's and the transport's
        # buffers hold, so a send has to wait for a reader that never reads.
        for _ in range(15):
            await write(db, *(started(request_message=big) for _ in range(10)))
        await until(lambda: broadcaster.stats.send_timeouts == 1, "the send to time out")
        await until(lambda: broadcaster.stats.connections_aborted == 1, "the abort")
        await until(lambda: not server_has_connection_from(port), "the server to drop it")
    finally:
        sock.close()

    assert broadcaster.subscriber_count == 0


async def test_a_fast_client_keeps_streaming_while_a_slow_one_is_dropped(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    broadcaster.client_queue_size = 20
    slow = broadcaster.subscribe(StreamFilters())  # never reads
    async with StreamClient(live_server.url) as fast:
        runs = [started() for _ in range(30)]
        for index in range(0, 30, 5):
            await write(db, *runs[index : index + 5])
        await fast.wait_for_ids(*(run.execution_id for run in runs))

    assert slow.dropped and broadcaster.stats.subscribers_dropped == 1
    assert all(event.event != "dropped" for event in fast.events)


class DuckTransport:
    """A transport that is not an asyncio.Transport subclass, as uvloop's are not."""

    def __init__(self) -> None:
        self.buffered = 0
        self.aborted = False

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def get_extra_info(self, name: str) -> Any:
        return None

    def abort(self) -> None:
        self.aborted = True


async def test_the_connection_guard_takes_a_transport_by_what_it_does_not_its_class() -> None:
    class Cycle:
        transport = DuckTransport()

        async def send(self, message: Any) -> None: ...

    scopes: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)

    await ConnectionGuard(app)({"type": "http"}, None, Cycle().send)  # type: ignore[arg-type]
    [scope] = scopes
    assert scope[WRITE_BUFFER_EMPTY_KEY]() is True
    Cycle.transport.buffered = 10
    assert scope[WRITE_BUFFER_EMPTY_KEY]() is False
    assert ABORT_KEY in scope


async def test_a_send_is_timed_only_when_the_connection_has_data_waiting() -> None:
    response = StreamResponse(iter(()), send_timeout=0.05)
    transport = DuckTransport()
    response._write_buffer_empty = lambda: transport.get_write_buffer_size() == 0
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)
        if transport.buffered:
            await asyncio.sleep(10)  # the client does not read

    await response._send_with_timeout(send, {"type": "http.response.body"})
    transport.buffered = 100_000
    with pytest.raises(SendTimeoutError):
        await response._send_with_timeout(send, {"type": "http.response.body"})
    assert len(sent) == 2
