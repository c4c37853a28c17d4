"""Live executions: one LISTEN connection per process, fanned out to every
stream client through a bounded queue per client.

PostgreSQL announces changed executions on `execution_events` (see the notify
migration). A notification only says "something changed": the fan-out then
reads every change after the last one it delivered (`executions_changed_since_v2`,
the same query a resuming client's replay uses), in change order, over its own
small pool. So a fetch that fails is retried from the same place (delayed,
never lost), a reconnect catches up by the same path, and nothing between
notification and fetch can grow without bound (a flag, not a list of ids).

The change order is (writing transaction id, change_seq), read only below the
change horizon: every transaction that could still add a change before it has
ended (migration 20261207000101). Writers do not take turns, and a change that
commits late still sorts after every change already delivered, so a cursor (an
event id, `xid:seq`) is exact. `parse_event_id` also takes the integer ids of
the releases whose writers took a global lock (see there).

Each subscriber has a bounded queue; one that falls too far behind is dropped
(its stream ends with a `dropped` event and its connection is closed; it
resumes with Last-Event-ID) so a slow client never slows the others. Every
loss is counted in `BroadcasterStats`.

A subscriber that is idle (its stream waits on an empty queue, with nothing in
flight) may offer `deliver_now`: the fan-out then hands it a batch directly,
which writes it to the client's connection at once, without a queue put, a task
wake-up and a pass through the response's send loop for each client and batch
(a third of the server's CPU per client and batch at 1,000 clients). It refuses (and the batch is
queued as before) whenever the write could wait; the queue, not the direct
path, is what keeps a client's order once anything is queued.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sse_starlette import ServerSentEvent

from langgraph_execution_monitor.storage import queries
from langgraph_execution_monitor.storage.queries import ChangePosition

logger = logging.getLogger(__name__)

CHANNEL = "execution_events"

EVENT_ID_MAX = 2**63 - 1  # a bigint, and an xid8 well beyond any server's


def event_id(position: ChangePosition) -> str:
    """A change's SSE event id: `xid:seq`."""
    return f"{position.xid}:{position.seq}"


@dataclass(frozen=True)
class Resume:
    """Where a client resumes (its Last-Event-ID, parsed). `legacy`: an integer
    id of a release whose writers took a global lock, so that change_seq alone
    was the commit order. Those changes keep transaction id 0 (migration
    20261207000100) and every later change sorts after them, so (0, N) is exact
    for them. An integer id an old server gave during a rolling deploy for a
    newer change may replay changes the client had (at least once, never lost)."""

    after: ChangePosition
    legacy: bool = False


def parse_event_id(text: str) -> Resume:
    """`xid:seq`, or a legacy integer; ValueError for anything else."""
    xid_text, sep, seq_text = text.strip().partition(":")
    parts = [xid_text, seq_text] if sep else [xid_text]
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise ValueError("an event id is `xid:seq` (or an integer of an older release)")
    numbers = [int(part) for part in parts]
    if any(number > EVENT_ID_MAX for number in numbers):
        raise ValueError(f"an event id's numbers are at most {EVENT_ID_MAX}")
    if sep:
        return Resume(ChangePosition(numbers[0], numbers[1]))
    return Resume(ChangePosition(0, numbers[0]), legacy=True)


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
    position: ChangePosition
    data: str  # the listing row as JSON text, sent as is

    def encode(self) -> bytes:
        """As one Server-Sent Event (`event: execution`, id = `xid:seq`)."""
        return ServerSentEvent(
            data=self.data, event="execution", id=event_id(self.position)
        ).encode()


@dataclass(frozen=True)
class ChangeBatch:
    """The changes of one fetch that match a subscriber's filters, encoded
    once for every subscriber with the same filters (fan-out cost is then one
    queue put and one socket write per subscriber and batch, not per event)."""

    changes: tuple[ExecutionChange, ...]  # in change order
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
    # Set by the stream only while it waits on an empty queue with nothing in
    # flight: writes a batch to the client at once and says True, or writes
    # nothing and says False (the batch is then queued).
    deliver_now: Callable[[ChangeBatch], bool] | None = None

    def taken(self, item: ChangeBatch | ListenerState | Dropped) -> None:
        """The consumer calls this for each item it takes from the queue."""
        if isinstance(item, ChangeBatch):
            self.pending -= len(item.changes)


@dataclass
class BroadcasterStats:
    """Counters for /health and /metrics (all monotonic)."""

    notifications: int = 0
    fetches: int = 0
    fetch_errors: int = 0  # failed reads of the changes: retried, nothing lost
    changes_broadcast: int = 0
    batches_sent_directly: int = 0  # (client, batch) pairs written by the fan-out itself
    batches_queued: int = 0  # (client, batch) pairs left to the client's stream task
    reconnects: int = 0
    subscribers_dropped: int = 0  # too slow: told so, disconnected, can resume
    replay_resets: int = 0  # resume too far back: told to reload instead
    send_timeouts: int = 0  # clients that stopped reading: disconnected, can resume
    connections_aborted: int = 0  # dropped or timed-out clients whose connection was reset
    bad_rows: int = 0  # rows whose JSON could not be read (never expected)
    last_error: str | None = None


@dataclass(frozen=True)
class ReplayPlan:
    """What a client resuming after `after` gets: a replay of the changes
    since, or (too many, too old, or an id this database never had) a reset
    to `latest`, after which only live changes follow."""

    reset: bool
    after: ChangePosition
    reason: str | None = None


PoolFactory = Callable[[], Awaitable[asyncpg.Pool]]


def fan_out_pool_factory(
    database_url: str, *, size: int = 2, statement_timeout_s: float = 5.0
) -> PoolFactory:
    """The fan-out's own small pool: its reads never wait behind the request
    pool's heaviest queries, and a stuck read gives up after the timeout."""

    async def create() -> asyncpg.Pool:
        return await asyncpg.create_pool(
            database_url,
            min_size=0,
            max_size=size,
            timeout=10,
            command_timeout=statement_timeout_s + 5,
            server_settings={
                "application_name": "execution-fan-out",
                "statement_timeout": str(int(statement_timeout_s * 1000)),
            },
        )

    return create


def _change_time(data: str) -> float | None:
    """When a listing row last changed (its finish, else its start), epoch s."""
    try:
        row = orjson.loads(data)
        text = row.get("completed_at") or row.get("started_at")
        return datetime.fromisoformat(text).timestamp() if text else None
    except Exception:
        return None


class ExecutionBroadcaster:
    def __init__(
        self,
        database_url: str,
        *,
        pool_factory: PoolFactory | None = None,
        client_queue_size: int = 1000,
        liveness_interval_s: float = 5.0,
        max_backoff_s: float = 5.0,
        fetch_page: int = 1000,
        replay_max_changes: int = 10_000,
        replay_max_age_s: float = 24 * 3600.0,
        statement_timeout_s: float = 5.0,
        held_back_min_s: float = 0.02,
        held_back_max_s: float = 0.5,
    ) -> None:
        self.database_url = database_url
        self.held_back_min_s = held_back_min_s
        self.held_back_max_s = held_back_max_s
        self._pool_factory = pool_factory or fan_out_pool_factory(
            database_url, statement_timeout_s=statement_timeout_s
        )
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self.client_queue_size = client_queue_size
        self.liveness_interval_s = liveness_interval_s
        self.max_backoff_s = max_backoff_s
        self.fetch_page = fetch_page
        self.replay_max_changes = replay_max_changes
        self.replay_max_age_s = replay_max_age_s
        self.state = "reconnecting"
        self.stats = BroadcasterStats()
        self._subscribers: set[Subscriber] = set()
        # "Something changed since the cursor": all a notification leaves
        # behind, so nothing queues up between the listener and the fetch.
        self._changed = asyncio.Event()
        # Committed changes the horizon still holds back (a transaction that began
        # before them is running): no notification may come when it ends (it need
        # not write executions), so the fan-out looks again after this delay,
        # doubled while nothing moves, up to `held_back_max_s`.
        self._held_back_s: float | None = None
        self._cursor: ChangePosition | None = None  # the last change delivered, once known
        self._connection: asyncpg.Connection | None = None
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

    @property
    def cursor(self) -> ChangePosition | None:
        """The last change fanned out (None before the first connection)."""
        return self._cursor

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
        if isinstance(item, ChangeBatch):
            # Only past an empty queue: what is queued goes out first.
            if subscriber.deliver_now is not None and subscriber.queue.empty():
                if self._deliver_now(subscriber, item):
                    self.stats.batches_sent_directly += 1
                    return
            self.stats.batches_queued += 1
        subscriber.pending += size
        subscriber.queue.put_nowait(item)

    def _deliver_now(self, subscriber: Subscriber, batch: ChangeBatch) -> bool:
        """A failing direct path costs its subscriber the direct path, never the
        fan-out (the other subscribers, the cursor): the batch is queued."""
        assert subscriber.deliver_now is not None
        try:
            return subscriber.deliver_now(batch)
        except Exception:
            logger.exception("a stream's direct delivery failed; its batches are queued")
            subscriber.deliver_now = None
            return False

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

    async def stop(self, timeout_s: float = 2.0) -> None:
        """Cancel the listener and the fan-out and close their connections,
        within about `timeout_s` even when the database hangs (a cancelled
        asyncpg query, and a close, wait for the server: past half the time,
        the connections are terminated instead)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout_s / 2)
            if pending:
                self._terminate_connections()
                for task in pending:
                    task.cancel()  # a second cancel gets through asyncpg's shield
                await asyncio.wait(pending, timeout=max(0.1, deadline - loop.time()))
        for task in self._tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: an error at shutdown does not matter
        self._tasks = []
        remaining = max(0.1, deadline - loop.time())
        pool, self._pool = self._pool, None
        await asyncio.gather(self._close_connection(remaining), _close_pool(pool, remaining))

    def _terminate_connections(self) -> None:
        if self._connection is not None:
            self._connection.terminate()
        if self._pool is not None:
            self._pool.terminate()

    async def _close_connection(self, timeout_s: float = 2.0) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout_s)

    async def pool(self) -> asyncpg.Pool:
        """The fan-out's own pool (created on first use, so the app starts
        while the database is down)."""
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await self._pool_factory()
            return self._pool

    # -- reading changes: one path for live delivery and for resume -------

    async def changes_since(
        self,
        after: ChangePosition,
        filters: StreamFilters | None = None,
        *,
        limit: int | None = None,
    ) -> list[tuple[ChangePosition, str]]:
        """Changes after `after`, in change order, at most `limit`."""
        filters = filters or StreamFilters()
        return await queries.executions_changed_since_v2(
            await self.pool(),
            after,
            status=filters.status,
            user_id=filters.user_id,
            conversation_id=filters.conversation_id,
            limit=limit or self.fetch_page,
        )

    async def plan_replay(self, resume: Resume) -> ReplayPlan:
        """Replay from `resume`, or reset when that is too much to replay."""
        pool = await self.pool()
        latest, written = await queries.latest_change_position(pool)
        after = resume.after
        if resume.legacy:
            # change_seq alone: past the newest one, the id was never given here.
            unknown = after.seq > await queries.latest_change_seq(pool)
        else:
            unknown = after > written
        reason: str | None = None
        if unknown:
            reason = "unknown event id (newer than this database's changes)"
        # change_seq counts changes in the order they were written: the distance
        # between two of them is about the number of changes in between.
        elif latest.seq - after.seq > self.replay_max_changes:
            reason = f"more than {self.replay_max_changes} changes to replay"
        else:
            oldest = await self.changes_since(after, limit=1)
            changed_at = _change_time(oldest[0][1]) if oldest else None
            if changed_at is not None and time.time() - changed_at > self.replay_max_age_s:
                reason = f"changes older than {self.replay_max_age_s:g} s to replay"
        if reason is None:
            return ReplayPlan(reset=False, after=after)
        self.stats.replay_resets += 1
        return ReplayPlan(reset=True, after=latest, reason=reason)

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
                self.stats.last_error = f"listener: {type(error).__name__}: {error}"
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
            self.database_url,
            timeout=10,
            server_settings={"application_name": "execution-listener"},
        )
        connection.add_termination_listener(lambda _: self._lost.set())
        await connection.add_listener(CHANNEL, self._on_notification)
        self._connection = connection
        if self._cursor is None:
            self._cursor = (await queries.latest_change_position(connection))[0]
        # What changed while nobody listened (after a reconnect) is read by
        # the fan-out from its cursor, like any other change.
        self._changed.set()
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

    def _on_notification(self, _connection: object, _pid: int, _channel: str, _: str) -> None:
        # The payload (ids, statuses) is not needed: the fetch reads every
        # change after the cursor, so a malformed or lost payload costs nothing.
        self.stats.notifications += 1
        self._changed.set()

    # -- fetch and fan out ------------------------------------------------

    async def _fetch_forever(self) -> None:
        attempt = 0
        while True:
            if self._held_back_s is None:
                await self._changed.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), self._held_back_s)
            self._changed.clear()
            if self._cursor is None:
                continue  # set, with the flag, once the listener connects
            try:
                await self._deliver_changes()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Nothing was delivered past the cursor: the next try reads
                # the same changes again. Delayed, not lost.
                self.stats.fetch_errors += 1
                self.stats.last_error = f"fetch: {type(error).__name__}: {error}"
                attempt += 1
                if attempt == 1 or attempt % 20 == 0:
                    logger.warning("could not read execution changes (will retry): %s", error)
                await self._drop_pool_after(error)
                self._changed.set()
                delay = min(self.max_backoff_s, 0.05 * 2 ** min(attempt, 8))
                await asyncio.sleep(delay * random.uniform(0.5, 1))
                continue
            attempt = 0

    async def _deliver_changes(self) -> None:
        began_at = self._cursor
        while True:
            assert self._cursor is not None
            changes = await self.changes_since(self._cursor)
            self.stats.fetches += 1
            self._broadcast(changes)
            if len(changes) < self.fetch_page:
                break
        _, written = await queries.latest_change_position(await self.pool())
        if written <= self._cursor:
            self._held_back_s = None
        elif self._held_back_s is None or self._cursor != began_at:
            self._held_back_s = self.held_back_min_s
        else:
            self._held_back_s = min(self.held_back_max_s, 2 * self._held_back_s)

    async def _drop_pool_after(self, error: Exception) -> None:
        """After a connection-level failure, start the next try on a fresh pool."""
        if isinstance(error, asyncpg.PostgresError) and not isinstance(
            error, asyncpg.PostgresConnectionError
        ):
            return  # the server answered: the connections are fine
        async with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()

    def _broadcast(self, changes: list[tuple[ChangePosition, str]]) -> None:
        fresh: list[tuple[ExecutionChange, dict[str, Any]]] = []
        for position, data in changes:
            if self._cursor is not None and position <= self._cursor:
                continue
            self._cursor = position
            try:
                execution = orjson.loads(data)
            except orjson.JSONDecodeError:
                self.stats.bad_rows += 1
                continue
            fresh.append((ExecutionChange(position, data), execution))
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


async def _close_pool(pool: asyncpg.Pool | None, timeout_s: float) -> None:
    if pool is None:
        return
    try:
        await asyncio.wait_for(pool.close(), timeout_s)
    except Exception:
        pool.terminate()
