"""Live executions: one LISTEN connection per process, fanned out to every
stream client through a bounded queue per client.

PostgreSQL announces changed executions on `execution_events` (ids, status,
change_seq; see the notify migration). The listener fetches those rows once
and hands each to the subscribers whose filters match. A subscriber whose queue
is full is dropped (it reconnects and resumes with Last-Event-ID) so a slow
client never slows the others. When the LISTEN connection dies the listener
reconnects with capped, jittered backoff, tells subscribers, and catches up
from the last change_seq it saw, so a reconnect loses nothing.
"""

import asyncio
import contextlib
import json
import logging
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sse_starlette import ServerSentEvent

from langgraph_execution_monitor.storage import queries

logger = logging.getLogger(__name__)

CHANNEL = "execution_events"


@dataclass(frozen=True)
class StreamFilters:
    status: str | None = None
    user_id: str | None = None
    conversation_id: str | None = None

    def match(self, execution: dict[str, Any]) -> bool:
        return (
            (self.status is None or execution.get("status") == self.status)
            and (self.user_id is None or execution.get("user_id") == self.user_id)
            and (
                self.conversation_id is None
                or execution.get("conversation_id") == self.conversation_id
            )
        )


@dataclass(frozen=True)
class ExecutionChange:
    change_seq: int
    data: str  # the listing row as JSON text, sent as is

    def encode(self) -> bytes:
        """As one Server-Sent Event (`event: execution`, id = change_seq)."""
        return ServerSentEvent(data=self.data, event="execution", id=str(self.change_seq)).encode()


@dataclass(frozen=True)
class ChangeBatch:
    """The changes of one fetch that match a subscriber's filters, encoded
    once for every subscriber with the same filters (fan-out cost is then one
    queue put and one socket write per subscriber and batch, not per event)."""

    changes: tuple[ExecutionChange, ...]  # in change_seq order
    encoded: bytes

    @classmethod
    def of(cls, changes: list[ExecutionChange]) -> "ChangeBatch":
        return cls(tuple(changes), b"".join(change.encode() for change in changes))


@dataclass(frozen=True)
class ListenerState:
    state: str  # connected | reconnecting


class Dropped:
    """Put in a subscriber's place when it fell too far behind."""


@dataclass(eq=False)
class Subscriber:
    filters: StreamFilters
    queue: asyncio.Queue[ChangeBatch | ListenerState | Dropped]
    pending: int = 0  # changes queued and not yet taken: the bounded part
    dropped: bool = False

    def taken(self, item: ChangeBatch | ListenerState | Dropped) -> None:
        """The consumer calls this for each item it takes from the queue."""
        if isinstance(item, ChangeBatch):
            self.pending -= len(item.changes)


@dataclass
class BroadcasterStats:
    notifications: int = 0
    changes_broadcast: int = 0
    reconnects: int = 0
    subscribers_dropped: int = 0
    bad_payloads: int = 0


@dataclass
class _RecentSeqs:
    """change_seqs already broadcast (a row fetched twice is sent once)."""

    limit: int = 10_000
    order: deque[int] = field(default_factory=deque)
    seen: set[int] = field(default_factory=set)

    def add(self, seq: int) -> bool:
        if seq in self.seen:
            return False
        self.seen.add(seq)
        self.order.append(seq)
        if len(self.order) > self.limit:
            self.seen.discard(self.order.popleft())
        return True


class ExecutionBroadcaster:
    def __init__(
        self,
        database_url: str,
        pool: asyncpg.Pool,
        *,
        client_queue_size: int = 1000,
        liveness_interval_s: float = 5.0,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.database_url = database_url
        self.pool = pool
        self.client_queue_size = client_queue_size
        self.liveness_interval_s = liveness_interval_s
        self.max_backoff_s = max_backoff_s
        self.state = "reconnecting"
        self.stats = BroadcasterStats()
        self._subscribers: set[Subscriber] = set()
        self._pending_ids: asyncio.Queue[list[str]] = asyncio.Queue()
        self._connection: asyncpg.Connection | None = None
        self._last_seq: int | None = None  # None until the first connection
        self._recent = _RecentSeqs()
        self._tasks: list[asyncio.Task[None]] = []
        self._lost = asyncio.Event()

    # -- subscribers ------------------------------------------------------

    def subscribe(self, filters: StreamFilters) -> Subscriber:
        subscriber = Subscriber(filters, asyncio.Queue())
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def _offer(self, subscriber: Subscriber, item: ChangeBatch | ListenerState) -> None:
        if subscriber.dropped:
            return
        size = len(item.changes) if isinstance(item, ChangeBatch) else 0
        if subscriber.pending + size > self.client_queue_size:
            # Too slow: drop it rather than slow everyone down. Empty its
            # queue (discarding only the oldest change would leave a gap that
            # the client's Last-Event-ID skips) and leave the marker, so its
            # stream ends and the client resumes from the last event it got.
            subscriber.dropped = True
            self.stats.subscribers_dropped += 1
            self._subscribers.discard(subscriber)
            while not subscriber.queue.empty():
                subscriber.queue.get_nowait()
            subscriber.pending = 0
            subscriber.queue.put_nowait(Dropped())
            logger.warning(
                "dropped a slow stream client (more than %d changes queued)",
                self.client_queue_size,
            )
            return
        subscriber.pending += size
        subscriber.queue.put_nowait(item)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            for subscriber in list(self._subscribers):
                self._offer(subscriber, ListenerState(state))

    # -- lifecycle --------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen_forever(), name="execution-listener"),
            asyncio.create_task(self._fetch_forever(), name="execution-fan-out"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self._close_connection()

    async def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)

    # -- the LISTEN connection --------------------------------------------

    async def _listen_forever(self) -> None:
        attempt = 0
        while True:
            try:
                await self._connect()
                attempt = 0
                await self._watch_connection()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("execution listener lost its connection: %s", error)
            self._set_state("reconnecting")
            self.stats.reconnects += 1
            await self._close_connection()
            attempt += 1
            delay = min(self.max_backoff_s, 0.1 * 2 ** min(attempt, 8)) * random.uniform(0.5, 1)
            await asyncio.sleep(delay)

    async def _connect(self) -> None:
        self._lost.clear()
        connection = await asyncpg.connect(
            self.database_url, server_settings={"application_name": "execution-listener"}
        )
        connection.add_termination_listener(lambda _: self._lost.set())
        await connection.add_listener(CHANNEL, self._on_notification)
        self._connection = connection
        if self._last_seq is None:
            self._last_seq = await self._current_seq()
        else:
            await self._catch_up()  # what changed while we were not listening
        self._set_state("connected")
        logger.info("execution listener connected (LISTEN %s)", CHANNEL)

    async def _watch_connection(self) -> None:
        """Return when the connection is lost: terminated, or not answering."""
        assert self._connection is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.liveness_interval_s)
            if self._lost.is_set() or self._connection.is_closed():
                raise ConnectionError("LISTEN connection closed")
            await asyncio.wait_for(queries.ping(self._connection), self.liveness_interval_s)

    async def _current_seq(self) -> int:
        return await queries.latest_change_seq(self.pool)

    async def _catch_up(self) -> None:
        while True:
            changes = await queries.executions_changed_since(self.pool, self._last_seq or 0)
            self._broadcast(changes)
            if len(changes) < 1000:
                return

    def _on_notification(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self.stats.notifications += 1
        try:
            ids = [str(entry[0]) for entry in json.loads(payload)]
        except Exception:
            self.stats.bad_payloads += 1
            logger.warning("ignored a malformed notification: %.200r", payload)
            return
        self._pending_ids.put_nowait(ids)

    # -- fetch and fan out ------------------------------------------------

    async def _fetch_forever(self) -> None:
        while True:
            ids = await self._pending_ids.get()
            while not self._pending_ids.empty():  # coalesce what piled up
                ids.extend(self._pending_ids.get_nowait())
            try:
                self._broadcast(await queries.executions_by_ids(self.pool, ids))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # The rows are still in the table: clients that reconnect with
                # Last-Event-ID get them. Keep the fan-out alive.
                logger.warning("could not fetch announced executions: %s", error)

    def _broadcast(self, changes: list[tuple[int, str]]) -> None:
        fresh: list[tuple[ExecutionChange, dict[str, Any]]] = []
        for seq, data in changes:
            self._last_seq = max(self._last_seq or 0, seq)
            if not self._recent.add(seq):
                continue
            try:
                execution = json.loads(data)
            except ValueError:
                self.stats.bad_payloads += 1
                continue
            fresh.append((ExecutionChange(seq, data), execution))
        if not fresh:
            return
        self.stats.changes_broadcast += len(fresh)
        batches: dict[StreamFilters, ChangeBatch | None] = {}
        for subscriber in list(self._subscribers):
            filters = subscriber.filters
            if filters not in batches:
                matching = [change for change, row in fresh if filters.match(row)]
                batches[filters] = ChangeBatch.of(matching) if matching else None
            batch = batches[filters]
            if batch is not None:
                self._offer(subscriber, batch)
