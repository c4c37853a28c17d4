"""GET /api/v1/monitoring/stream with a real SSE client against a real uvicorn:
events for starts and finishes, filters, a killed LISTEN connection that
recovers without losing changes, Last-Event-ID resume, and slow clients
dropped while others keep up."""

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from langgraph_execution_monitor.live_events import Dropped, ExecutionBroadcaster, StreamFilters
from tests.conftest import LiveServer
from tests.factories import SUMMARY_KEYS, finished, started, write

STREAM = "/api/v1/monitoring/stream"


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


class StreamClient:
    """A real SSE client reading the stream in the background."""

    def __init__(self, base_url: str, **request: Any) -> None:
        self.base_url = base_url
        self.request = request
        self.events: list[ServerSentEvent] = []
        self.ended = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "StreamClient":
        self._task = asyncio.create_task(self._read())
        await self.wait_for(lambda: bool(self.events), "the first event")
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _read(self) -> None:
        timeout = httpx.Timeout(10, read=None)
        async with (
            httpx.AsyncClient(base_url=self.base_url, timeout=timeout) as http,
            aconnect_sse(http, "GET", STREAM, **self.request) as source,
        ):
            async for event in source.aiter_sse():
                self.events.append(event)
        self.ended = True

    async def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        def done() -> bool:
            if self._task is not None and self._task.done() and not self.ended:
                self._task.result()  # raise what killed the reader
            return condition()

        await until(done, what)

    def executions(self) -> list[tuple[tuple[int, int], dict[str, Any]]]:
        return [
            (position(event.id), json.loads(event.data))
            for event in self.events
            if event.event == "execution"
        ]

    def ids_seen(self) -> list[str]:
        return [execution["id"] for _, execution in self.executions()]

    def listener_states(self) -> list[str]:
        return [json.loads(e.data)["state"] for e in self.events if e.event == "listener"]

    async def wait_for_ids(self, *ids: str) -> None:
        await self.wait_for(lambda: set(ids) <= set(self.ids_seen()), f"events for {ids}")


def broadcaster_of(live_server: LiveServer) -> ExecutionBroadcaster:
    return live_server.app.state.broadcaster


async def connected(live_server: LiveServer) -> ExecutionBroadcaster:
    broadcaster = broadcaster_of(live_server)
    await until(lambda: broadcaster.state == "connected", "the listener to connect")
    return broadcaster


def position(event_id: str) -> tuple[int, int]:
    """An event id (`xid:seq`) as the pair it names, ordered as the stream orders them."""
    xid, seq = event_id.split(":")
    return int(xid), int(seq)


def event_id(at: tuple[int, int]) -> str:
    return f"{at[0]}:{at[1]}"


async def change_position(db: asyncpg.Connection, execution_id: str) -> tuple[int, int]:
    """Where an execution's latest change stands in the change order."""
    row = await db.fetchrow(
        "SELECT coalesce(change_xid, '0'), change_seq FROM execution_logs WHERE id = $1",
        execution_id,
    )
    return row[0], row[1]


async def test_a_client_first_hears_that_the_listener_is_connected(
    live_server: LiveServer,
) -> None:
    await connected(live_server)

    async with StreamClient(live_server.url) as client:
        first = client.events[0]

    assert first.event == "listener"
    assert json.loads(first.data) == {"state": "connected"}


async def test_a_runs_start_and_finish_arrive_as_execution_events(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    await connected(live_server)
    async with StreamClient(live_server.url) as client:
        start = started()
        await write(db, start)
        await client.wait_for(lambda: len(client.executions()) == 1, "the start")
        start_seq = await change_position(db, start.execution_id)
        await write(db, finished(start, status="partial", failed_nodes=["data_checker"]))
        await client.wait_for(lambda: len(client.executions()) == 2, "the finish")
        finish_seq = await change_position(db, start.execution_id)

    (seq1, running), (seq2, done) = client.executions()
    assert (seq1, seq2) == (start_seq, finish_seq) and seq1 < seq2
    assert set(running) == SUMMARY_KEYS and set(done) == SUMMARY_KEYS
    assert running["id"] == done["id"] == start.execution_id
    assert running["status"] == "running" and running["completed_at"] is None
    assert done["status"] == "partial" and done["failed_nodes"] == ["data_checker"]
    assert done["total_duration_ms"] == 250


async def test_a_chat_turn_arrives_finished_on_the_stream(live_server: LiveServer) -> None:
    await connected(live_server)
    async with (
        StreamClient(live_server.url) as client,
        httpx.AsyncClient(base_url=live_server.url) as http,
    ):
        answer = await http.post(
            "/api/v1/chat/v2",
            json={"message": "Create a LinkedIn post about AI", "user_id": "u1"},
        )
        execution_id = answer.json()["execution_id"]
        await client.wait_for(
            lambda: any(
                e["id"] == execution_id and e["status"] == "completed"
                for _, e in client.executions()
            ),
            "the chat run's finish",
        )

    mine = [e for _, e in client.executions() if e["id"] == execution_id]
    assert mine[-1]["user_id"] == "u1" and mine[-1]["response_message"] == answer.json()["response"]


async def test_the_status_filter_passes_only_that_status(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    await connected(live_server)
    async with StreamClient(live_server.url, params={"status": "failed"}) as client:
        ok, bad = started(), started()
        await write(db, ok, bad)
        await write(db, finished(ok))
        await write(db, finished(bad, status="failed", failed_nodes=["data_checker"]))
        await client.wait_for_ids(bad.execution_id)

    assert [(e["id"], e["status"]) for _, e in client.executions()] == [
        (bad.execution_id, "failed")
    ]


async def test_the_user_filter_passes_only_that_users_runs(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    await connected(live_server)
    async with StreamClient(live_server.url, params={"user_id": "alice"}) as client:
        await write(db, started(user_id="bob"))
        alice = started(user_id="alice")
        await write(db, alice)
        await client.wait_for_ids(alice.execution_id)

    assert client.ids_seen() == [alice.execution_id]


async def test_the_conversation_filter_passes_only_that_conversations_runs(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    await connected(live_server)
    async with StreamClient(live_server.url, params={"conversation_id": "conv-a"}) as client:
        await write(db, started(conversation_id="conv-b"), started(conversation_id=None))
        wanted = started(conversation_id="conv-a")
        await write(db, wanted)
        await client.wait_for_ids(wanted.execution_id)

    assert client.ids_seen() == [wanted.execution_id]


async def test_invalid_stream_parameters_are_422(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        bad_status = await http.get(STREAM, params={"status": "bogus"})
        bad_resume = await http.get(STREAM, headers={"Last-Event-ID": "abc"})

    assert bad_status.status_code == 422 and "status" in bad_status.text
    assert bad_resume.status_code == 422


async def terminate_listener(db: asyncpg.Connection) -> None:
    pid = await db.fetchval(
        "SELECT pid FROM pg_stat_activity"
        " WHERE application_name = 'execution-listener' AND datname = current_database()"
    )
    assert pid is not None, "no listener connection"
    assert await db.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)


async def test_changes_made_while_the_listener_was_down_still_arrive(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    # Hold the listener's reconnect until the test has written, so these
    # changes can only arrive through the catch-up from the last change_seq.
    reconnect_allowed = asyncio.Event()
    real_connect = broadcaster._connect

    async def gated_connect() -> None:
        await reconnect_allowed.wait()
        await real_connect()

    broadcaster._connect = gated_connect  # type: ignore[method-assign]
    async with StreamClient(live_server.url) as client:
        before = started()
        await write(db, before)
        await client.wait_for_ids(before.execution_id)

        await terminate_listener(db)
        await client.wait_for(
            lambda: client.listener_states()[-1] == "reconnecting", "a reconnecting event"
        )
        missed = [started() for _ in range(3)]
        await write(db, *missed)
        await write(db, finished(before))
        reconnect_allowed.set()
        await client.wait_for(
            lambda: client.listener_states()[-1] == "connected", "a connected event"
        )
        after = started()
        await write(db, after)
        await client.wait_for_ids(after.execution_id)

    assert client.listener_states() == ["connected", "reconnecting", "connected"]
    ids = [run.execution_id for run in missed]
    seen = client.executions()
    assert set(ids) <= {e["id"] for _, e in seen}
    assert (before.execution_id, "completed") in [(e["id"], e["status"]) for _, e in seen]
    sequence = [seq for seq, _ in seen]
    assert sequence == sorted(set(sequence)), "duplicates or out of order"
    assert broadcaster.stats.reconnects >= 1


async def test_a_killed_listener_reconnects_by_itself(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    async with StreamClient(live_server.url) as client:
        await terminate_listener(db)
        run = started()
        await write(db, run)  # likely while nobody listens: caught up on reconnect
        await client.wait_for_ids(run.execution_id)
        await client.wait_for(
            lambda: client.listener_states()[-1] == "connected", "a connected event"
        )

    assert "reconnecting" in client.listener_states()
    assert broadcaster.state == "connected"
    assert client.ids_seen() == [run.execution_id]


async def test_last_event_id_resumes_with_exactly_what_was_missed(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    await connected(live_server)
    first = started()
    async with StreamClient(live_server.url) as client:
        await write(db, first)
        await client.wait_for_ids(first.execution_id)
    ((last_id, _),) = client.executions()

    second, third = started(), started()
    await write(db, second)
    await write(db, finished(second))
    await write(db, third)
    await write(db, finished(first, status="failed", failed_nodes=["x"]))
    missed = await db.fetch(
        "SELECT (change_xid, change_seq) AS at, id, status FROM execution_logs"
        " WHERE (change_xid, change_seq) > ($1, $2) ORDER BY change_xid, change_seq",
        *last_id,
    )
    async with StreamClient(
        live_server.url, headers={"Last-Event-ID": event_id(last_id)}
    ) as resumed:
        await resumed.wait_for(lambda: len(resumed.executions()) == len(missed), "the replay")
        live = started()
        await write(db, live)
        await resumed.wait_for_ids(live.execution_id)

    got = [(seq, e["id"], e["status"]) for seq, e in resumed.executions()]
    expected = [(tuple(row["at"]), row["id"], row["status"]) for row in missed]
    assert got[: len(expected)] == expected
    assert [e_id for _, e_id, _ in got[len(expected) :]] == [live.execution_id]
    assert len({seq for seq, _, _ in got}) == len(got), "an event came twice"


async def test_last_event_id_resume_keeps_the_filters(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    await connected(live_server)
    mark = started()
    await write(db, mark)
    mark_at = await change_position(db, mark.execution_id)
    alice, bob = started(user_id="alice"), started(user_id="bob")
    await write(db, alice, bob)

    async with StreamClient(
        live_server.url, params={"user_id": "bob"}, headers={"Last-Event-ID": event_id(mark_at)}
    ) as resumed:
        await resumed.wait_for_ids(bob.execution_id)

    assert resumed.ids_seen() == [bob.execution_id]


async def test_a_client_that_falls_behind_is_told_it_was_dropped_and_can_resume(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    broadcaster.client_queue_size = 3  # one batch of 10 overflows any client's queue
    async with StreamClient(live_server.url) as client:
        mark = started()
        await write(db, mark)
        await client.wait_for_ids(mark.execution_id)
        burst = [started() for _ in range(10)]
        await write(db, *burst)
        await client.wait_for(lambda: client.ended, "the stream to end")

    assert client.events[-1].event == "dropped"
    assert broadcaster.stats.subscribers_dropped == 1
    assert broadcaster.subscriber_count == 0

    broadcaster.client_queue_size = 1000
    last_id = client.executions()[-1][0]
    async with StreamClient(live_server.url, headers={"Last-Event-ID": event_id(last_id)}) as again:
        await again.wait_for_ids(*(run.execution_id for run in burst))
    # Together, the dropped stream and the resumed one hold every run once.
    together = client.ids_seen() + again.ids_seen()
    assert sorted(together) == sorted(run.execution_id for run in [mark, *burst])


async def test_a_slow_subscriber_is_dropped_while_a_fast_client_keeps_up(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    broadcaster = await connected(live_server)
    broadcaster.client_queue_size = 20
    # A subscriber that never reads (a real socket would hide it behind
    # kernel buffers for thousands of events).
    slow = broadcaster.subscribe(StreamFilters())
    written: list[str] = []
    async with StreamClient(live_server.url) as fast:
        for _ in range(10):
            batch = [started() for _ in range(5)]
            await write(db, *batch)
            written += [run.execution_id for run in batch]
            await fast.wait_for_ids(*written)

    assert sorted(fast.ids_seen()) == sorted(written)  # each once (in id order per batch)
    assert all(event.event != "dropped" for event in fast.events)
    assert slow.dropped
    assert broadcaster.stats.subscribers_dropped == 1
    queued = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
    assert isinstance(queued[-1], Dropped)


async def test_a_change_held_back_by_a_transaction_that_writes_no_execution_arrives_when_it_ends(
    live_server: LiveServer, db: asyncpg.Connection, database_url: str
) -> None:
    # The transaction ends without a notification: the fan-out looks again by itself.
    await connected(live_server)
    holder = await asyncpg.connect(database_url)
    try:
        async with StreamClient(live_server.url) as client:
            transaction = holder.transaction()
            await transaction.start()
            await holder.execute("SELECT pg_current_xact_id()")  # it could still write
            run = started(conversation_id=None)
            await write(db, run)
            await asyncio.sleep(0.5)
            held_back = client.ids_seen()
            await transaction.rollback()
            await client.wait_for_ids(run.execution_id)
    finally:
        await holder.close()

    assert held_back == []


async def test_an_integer_event_id_of_an_older_release_resumes_after_that_change(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    await connected(live_server)
    before = [started(conversation_id=None) for _ in range(3)]
    for run in before:
        await write(db, run)
    # As rows written before change_xid existed (their writers took the global lock).
    await db.execute("UPDATE execution_logs SET change_xid = NULL")
    seen_seq = await db.fetchval(
        "SELECT change_seq FROM execution_logs WHERE id = $1", before[0].execution_id
    )
    after = started(conversation_id=None)
    await write(db, after)

    async with StreamClient(live_server.url, headers={"Last-Event-ID": str(seen_seq)}) as resumed:
        await resumed.wait_for_ids(after.execution_id)

    assert resumed.ids_seen() == [run.execution_id for run in [*before[1:], after]]


@pytest.mark.parametrize(
    "value", ["1:", ":1", "1:2:3", "-1", "1.5", "99999999999999999999", "9223372036854775808:1"]
)
async def test_a_malformed_event_id_is_422(live_server: LiveServer, value: str) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        answer = await http.get(STREAM, headers={"Last-Event-ID": value})

    assert answer.status_code == 422
