"""The background writer: drains the monitor's queue into PostgreSQL.

The hot path calls `enqueue`, which only appends to a bounded in-memory buffer
(bounded by count and by bytes, counting events not yet written; past it,
events are dropped and counted). A task owned by the app's lifespan takes
batches (as soon as `batch_size` events wait, else every `flush_interval_s`),
turns each event into a row of `log_batch` (cleaning text, truncating,
serialising the trace) and writes the batch in one round trip per connection:
rows are sharded by execution id over the writer's own small pool, so a run's
start and finish always go through the same connection.

Faults, and what they cost:
- Connection-level errors (database down, slow, a connection killed): the rows
  stay where they are and are retried with capped, jittered backoff until the
  database is back. Sub-batches already committed are not written again.
- A batch the database refuses for its data (SQLSTATE classes 22, 23, 54) is
  split in halves until each bad event is alone; that event is counted as
  failed-to-log (and logged with its id), the rest are written.
- A bug that kills the writer loop: the rows in flight are kept, the death is
  counted, the loop restarts and resumes them.
- Shutdown writes what is buffered within a time limit; whatever is left after
  it is counted as dropped.

Accounting: `queued == written + failed_to_log + dropped_at_shutdown + pending`
at every moment the loop is not in the middle of a write (`pending`: buffered
or in flight). Drops at a full buffer are not queued.
"""

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from langgraph_execution_monitor.events import (
    ExecutionEvent,
    ExecutionFinished,
    ExecutionStarted,
    TraceEntry,
)
from langgraph_execution_monitor.storage import queries

logger = logging.getLogger(__name__)

# SQLSTATE classes that mean "this data cannot be stored": retrying the same
# batch would fail forever, so the batch is split to find the bad event.
DATA_ERROR_CLASSES = ("22", "23", "54")

# Rough per-event overhead beyond its text, for the byte bound.
EVENT_BASE_BYTES = 256
TRACE_ENTRY_BYTES = 160

Row = tuple[Any, ...]  # one event as the 11 parameters of log_batch


@dataclass
class WriterStats:
    """Counters for /health and /metrics. Every loss shows up here."""

    queued: int = 0  # events accepted by enqueue
    written: int = 0  # events whose (sub-)batch was committed
    rows_changed: int = 0  # rows inserted or finished by those batches
    batches: int = 0  # committed log_batch calls
    retries: int = 0  # failed write attempts that were retried
    dropped: int = 0  # dropped_buffer_full + dropped_at_shutdown
    dropped_buffer_full: int = 0  # refused by enqueue (never queued)
    dropped_at_shutdown: int = 0  # queued, still unwritten when the drain limit passed
    failed_to_log: int = 0  # refused by the database even alone, or unconvertible
    writer_restarts: int = 0
    stale_closed: int = 0
    last_write_ms: float = 0.0
    write_latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1024))
    last_error: str | None = None
    connected: bool = False


# -- turning events into rows (in the writer, never on the hot path) ---------

# One-entry cache, (second, its ISO text): timestamps cluster in a second. One
# tuple, replaced whole, so that a reader never sees one second with another's text.
_iso_second: tuple[int | None, str] = (None, "")
# Index 1000 too: int(fraction * 1000) can round up to it for a fraction just below 1.
_ISO_MILLIS = [f".{ms:03d}Z" for ms in range(1000)] + [".999Z"]


def _iso(ts: float) -> str | None:
    """`time.time()` float as ISO-8601 UTC with milliseconds ("...:00.120Z")."""
    global _iso_second
    try:
        second = int(ts)
    except (OverflowError, ValueError):  # inf, nan
        return None
    if ts < second:  # int() truncates towards zero
        second -= 1
    cached, text = _iso_second
    if cached != second:
        try:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        except (OverflowError, OSError, ValueError):
            return None
        _iso_second = (second, text)
    return text + _ISO_MILLIS[int((ts - second) * 1000)]


class TextCleaner:
    """Makes any text storable: no NUL bytes, no lone surrogates, bounded length
    (with a visible marker where it was cut). Non-text values become their repr."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    def __call__(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            value = _repr(value)
        if len(value) > self.max_chars:
            cut = len(value) - self.max_chars
            value = f"{value[: self.max_chars]}… [truncated {cut} characters]"
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        if not value.isascii():
            # Lone surrogates cannot be encoded as UTF-8; replace them.
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as error:  # a __repr__ that raises must not lose the event
        return f"<unrepresentable {type(value).__name__}: {type(error).__name__}>"


# Compact, and strict: NaN or an unserialisable value sends the trace down the
# careful path instead of producing something PostgreSQL refuses.
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
try:
    # 10x faster on traces (floats especially); langsmith (via langchain-core)
    # installs it. It raises TypeError on what the careful path must handle.
    import orjson

    def _fast_json(value: Any) -> str:
        return orjson.dumps(value).decode()

except ImportError:  # pragma: no cover
    _fast_json = _JSON.encode


def _trace_json(trace: list[TraceEntry | dict[str, Any]], clean: TextCleaner) -> str:
    """The trace as JSON text PostgreSQL accepts, timestamps as ISO-8601.

    Fast path (the monitor's `TraceEntry` tuples, or dicts already in the stored
    format): each entry as a new dict, its two timestamps converted, serialised,
    then the text checked as a whole: short enough that no value can need
    truncating, and no NUL (which jsonb refuses). Anything else goes through
    `_careful_trace_json`, value by value."""
    try:
        entries = []
        # `_iso` written out for the second most timestamps of a trace fall in
        # (`_iso` itself for the others): a call per timestamp was half the cost.
        second, prefix = _iso_second
        if second is None:
            second = -math.inf
        for raw in trace:
            entry = raw.as_dict() if raw.__class__ is TraceEntry else raw.copy()
            for key in _TIMESTAMP_KEYS:
                value = entry.get(key)
                if value.__class__ is float:
                    fraction = value - second
                    if 0.0 <= fraction < 1.0:
                        entry[key] = prefix + _ISO_MILLIS[int(fraction * 1000)]
                    else:
                        entry[key] = _iso(value)
                        if _iso_second[0] is not None:
                            second, prefix = _iso_second
            entries.append(entry)
        text = _fast_json(entries)
    except Exception:  # NaN, a value json cannot encode, an entry that is not a dict
        return _careful_trace_json(trace, clean)
    if len(text) > clean.max_chars or "\\u0000" in text:
        return _careful_trace_json(trace, clean)
    if not text.isascii():  # lone surrogates cannot be encoded as UTF-8
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


_TIMESTAMP_KEYS = ("timestamp", "started_at")


def _careful_trace_json(trace: Any, clean: TextCleaner) -> str:
    entries: list[Any] = []
    for raw in trace:
        if isinstance(raw, TraceEntry):
            raw = raw.as_dict()
        if not isinstance(raw, dict):
            entries.append(clean(raw))
            continue
        entry: dict[str, Any] = {}
        for key, value in raw.items():
            key = clean(key)
            if value is None or value is True or value is False:
                entry[key] = value
            elif isinstance(value, float):
                if key == "timestamp" or key == "started_at":
                    entry[key] = _iso(value)
                else:
                    entry[key] = round(value, 3) if math.isfinite(value) else None
            elif isinstance(value, int):
                entry[key] = value
            else:
                entry[key] = clean(value)
        entries.append(entry)
    return _JSON.encode(entries)


def _failed_nodes_json(nodes: list[str], clean: TextCleaner) -> str:
    if not nodes:
        return "[]"  # most runs
    return json.dumps([clean(node) for node in nodes], ensure_ascii=False)


def event_row(event: ExecutionEvent, clean: TextCleaner) -> Row:
    """The 11 `log_batch` parameters of one event (raises if it cannot be converted)."""
    if isinstance(event, ExecutionFinished):
        return (
            clean(event.execution_id),
            clean(event.conversation_id),
            clean(event.user_id),
            clean(event.request_message) or "",
            float(event.started_at),
            clean(event.status),
            float(event.completed_at),
            clean(event.response_message),
            _trace_json(event.execution_trace, clean),
            _failed_nodes_json(event.failed_nodes, clean),
            clean(event.error_summary),
        )
    return (
        clean(event.execution_id),
        clean(event.conversation_id),
        clean(event.user_id),
        clean(event.request_message) or "",
        float(event.started_at),
        "running",
        None,
        None,
        None,
        None,
        None,
    )


def event_rows(events: Sequence[Any], clean: TextCleaner) -> tuple[list[Row], list[Any]]:
    """Rows for the events that convert, and the events that cannot."""
    rows: list[Row] = []
    unconvertible: list[Any] = []
    for event in events:
        try:
            rows.append(event_row(event, clean))
        except Exception:
            logger.exception(
                "cannot convert execution event %r", getattr(event, "execution_id", "?")
            )
            unconvertible.append(event)
    return rows, unconvertible


def rows_to_columns(rows: Sequence[Row]) -> list[list[Any]]:
    """The 11 parallel arrays of `log_batch`."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 11


def batch_columns(
    events: list[ExecutionEvent], clean: TextCleaner
) -> tuple[list[list[Any]], list[ExecutionEvent]]:
    """The 11 parallel arrays of `log_batch` for these events, and the events
    that could not even be converted (counted as failed-to-log)."""
    rows, unconvertible = event_rows(events, clean)
    return rows_to_columns(rows), unconvertible


def event_size(event: ExecutionEvent) -> int:
    """Approximate bytes an event holds, for the buffer's byte bound. O(1): the
    lengths of its strings and of its trace list, never a walk of the trace."""
    try:
        size = EVENT_BASE_BYTES + len(event.request_message)
        if isinstance(event, ExecutionFinished):
            size += (
                len(event.response_message or "")
                + len(event.error_summary or "")
                + TRACE_ENTRY_BYTES * len(event.execution_trace)
            )
        return size
    except Exception:  # not an event as we know it: the writer will count it
        return EVENT_BASE_BYTES


def _is_data_error(error: BaseException) -> bool:
    """The database (or asyncpg, encoding a value) refuses this data."""
    sqlstate = getattr(error, "sqlstate", None) or ""
    return isinstance(error, asyncpg.PostgresError) and sqlstate[:2] in DATA_ERROR_CLASSES


# Errors worth retrying: the server is down, slow, restarting, or dropped the
# connection. Anything else that is not a data error is a bug: it kills the loop,
# which the supervisor counts and restarts.
TRANSIENT_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


PoolFactory = Callable[[], Awaitable[asyncpg.Pool]]


class LogWriter:
    """Owns the buffer, the writer task and the writer's pool."""

    def __init__(
        self,
        pool_factory: PoolFactory,
        *,
        batch_size: int = 2000,
        flush_interval_s: float = 0.05,
        max_events: int = 100_000,
        max_bytes: int = 256 * 1024 * 1024,
        max_text_chars: int = 65_536,
        retry_max_backoff_s: float = 5.0,
        stale_after_s: float | None = 3600.0,
        stale_check_interval_s: float = 60.0,
        connections: int = 2,
    ) -> None:
        self._pool_factory = pool_factory
        self._pool: asyncpg.Pool | None = None
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.retry_max_backoff_s = retry_max_backoff_s
        self.stale_after_s = stale_after_s
        self.stale_check_interval_s = stale_check_interval_s
        # Concurrent log_batch calls per batch (rows sharded by execution id);
        # the pool must allow as many connections.
        self.connections = max(1, connections)
        self._clean = TextCleaner(max_text_chars)
        self._buffer: deque[tuple[ExecutionEvent, int]] = deque()
        # Accepted and not yet written, failed or dropped: buffered or in flight.
        self._pending = 0
        self._pending_bytes = 0
        # The batch in flight: per shard, a stack of row chunks still to write
        # (kept across a writer restart), and the bytes it holds.
        self._work: list[list[list[Row]]] = []
        self._work_bytes = 0
        self._wakeup = asyncio.Event()
        self._pool_lock = asyncio.Lock()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._drop_warned_at = -math.inf
        self.stats = WriterStats()

    # -- hot path ---------------------------------------------------------

    def enqueue(self, event: ExecutionEvent) -> bool:
        """Buffer an event; never blocks, never raises. False if dropped."""
        # `event_size` written out for a start, the one event with nothing to add.
        if event.__class__ is ExecutionStarted and event.request_message.__class__ is str:
            size = EVENT_BASE_BYTES + len(event.request_message)
        else:
            size = event_size(event)
        if self._pending >= self.max_events or self._pending_bytes + size > self.max_bytes:
            self.stats.dropped_buffer_full += 1
            self._count_drops(1, "buffer full")
            return False
        self._buffer.append((event, size))
        self._pending += 1
        self._pending_bytes += size
        self.stats.queued += 1
        if len(self._buffer) >= self.batch_size:
            self._wakeup.set()
        return True

    @property
    def queue_depth(self) -> int:
        """Events not written yet: buffered or in flight."""
        return self._pending

    @property
    def buffered_bytes(self) -> int:
        return self._pending_bytes

    @property
    def waiting(self) -> int:
        """Events in the buffer, not yet taken into a batch."""
        return len(self._buffer)

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(
            self._supervise(), name="execution-log-writer"
        )
        self._task.add_done_callback(self._task_ended)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Write what is buffered (up to the time limit), then stop. What is
        left after the limit is counted as dropped."""
        self._stopping = True
        self._wakeup.set()
        task, self._task = self._task, None
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), drain_timeout_s)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._pending:
            self.stats.dropped_at_shutdown += self._pending
            self._count_drops(self._pending, "shutdown drain time limit reached", force=True)
        self._buffer.clear()
        self._work = []
        self._pending = self._pending_bytes = self._work_bytes = 0
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), 2)
            except Exception:
                pool.terminate()
        self.stats.connected = False

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        """The supervisor itself ended without stop() (cancelled from outside):
        count it as a death and start again."""
        if self._stopping or task is not self._task:
            return
        self.stats.writer_restarts += 1
        self.stats.last_error = "writer task ended unexpectedly"
        logger.error("execution log writer task ended unexpectedly; restarting")
        self._task = None
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self.start()

    # -- the task ---------------------------------------------------------

    async def _supervise(self) -> None:
        """Run the writer loop; if it dies of a bug, count it and restart.
        The batch in flight is kept, so a restart resumes it."""
        while True:
            try:
                await self._run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.stats.writer_restarts += 1
                self.stats.last_error = f"writer died: {error!r}"
                logger.exception("execution log writer died; restarting")
                if self._stopping and not self._pending:
                    return
                await asyncio.sleep(min(1.0, self.flush_interval_s * 4))

    async def _run(self) -> None:
        next_stale_check = time.monotonic()
        last_batch_at = -math.inf
        while True:
            if not self._work:
                wait = last_batch_at + self.flush_interval_s - time.monotonic()
                if self._buffer and wait <= 0:
                    pass  # an interval has passed since the last batch began: go
                elif not self._stopping and len(self._buffer) < self.batch_size:
                    # Batch by size or time: a full batch, or one interval after the
                    # last batch began (so a write's own duration is not added).
                    self._wakeup.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._wakeup.wait(), wait if self._buffer else self.flush_interval_s
                        )
                if self._buffer:
                    last_batch_at = time.monotonic()
                    self._take_batch()
                elif self._stopping:
                    return
            if self._work:
                await self._write_work()
            if (
                self.stale_after_s is not None
                and not self._stopping
                and time.monotonic() >= next_stale_check
            ):
                next_stale_check = time.monotonic() + self.stale_check_interval_s
                await self._close_stale()

    def _take_batch(self) -> None:
        """Move up to batch_size events from the buffer into the work in flight."""
        count = min(self.batch_size, len(self._buffer))
        taken = [self._buffer.popleft() for _ in range(count)]
        try:
            rows, unconvertible = event_rows([event for event, _ in taken], self._clean)
            shards: list[list[Row]] = [[] for _ in range(self.connections)]
            if self.connections == 1:
                shards[0] = rows
            else:
                for row in rows:
                    shards[hash(row[0]) % self.connections].append(row)
        except BaseException:
            self._buffer.extendleft(reversed(taken))
            raise
        if unconvertible:
            self.stats.failed_to_log += len(unconvertible)
            self._pending -= len(unconvertible)
        self._work = [[shard] for shard in shards if shard]
        self._work_bytes = sum(size for _, size in taken)

    async def _write_work(self) -> None:
        stacks = [stack for stack in self._work if stack]
        if len(stacks) == 1:
            await self._write_stack(stacks[0])
        elif stacks:
            async with asyncio.TaskGroup() as group:
                for stack in stacks:
                    group.create_task(self._write_stack(stack))
        self._work = []
        self._pending_bytes -= self._work_bytes
        self._work_bytes = 0

    async def _write_stack(self, stack: list[list[Row]]) -> None:
        """Write the chunks of `stack` (top first). A chunk leaves the stack only
        once it is committed or, alone and refused, counted as failed-to-log, so
        a retry or a restart never writes (or counts) anything twice."""
        attempt = 0
        while stack:
            rows = stack[-1]
            try:
                await self._write_rows(rows)
            except Exception as error:
                if _is_data_error(error):
                    stack.pop()
                    if len(rows) == 1:
                        self._count_failed(rows[0], error)
                    else:
                        middle = len(rows) // 2
                        stack.append(rows[middle:])
                        stack.append(rows[:middle])
                    continue
                if not isinstance(error, TRANSIENT_ERRORS):
                    raise
                attempt += 1
                await self._back_off(attempt, error)
                continue
            stack.pop()
            attempt = 0
            self.stats.connected = True
            self.stats.written += len(rows)
            self._pending -= len(rows)

    async def _write_rows(self, rows: list[Row]) -> None:
        pool = await self._get_pool()
        began = time.perf_counter()
        try:
            changed = await queries.log_batch(pool, rows_to_columns(rows))
        except Exception as error:
            if not _is_data_error(error) and self._pool is pool:
                # Start over with fresh connections (the other shard retries too).
                self._pool = None
                pool.terminate()
            raise
        elapsed_ms = (time.perf_counter() - began) * 1000
        self.stats.last_write_ms = elapsed_ms
        self.stats.write_latencies_ms.append(elapsed_ms)
        self.stats.batches += 1
        self.stats.rows_changed += changed or 0

    async def _back_off(self, attempt: int, error: Exception) -> None:
        self.stats.retries += 1
        self.stats.connected = False
        self.stats.last_error = f"{type(error).__name__}: {error}"
        delay = min(self.retry_max_backoff_s, 0.05 * 2 ** min(attempt, 10))
        delay *= random.uniform(0.5, 1.0)
        if attempt == 1 or attempt % 20 == 0:
            logger.warning(
                "cannot write execution logs (%s); %d events waiting, retrying in %.2fs",
                self.stats.last_error,
                self._pending,
                delay,
            )
        await asyncio.sleep(delay)

    def _count_failed(self, row: Row, error: Exception) -> None:
        self.stats.failed_to_log += 1
        self._pending -= 1
        self.stats.last_error = f"{type(error).__name__}: {error}"
        logger.warning(
            "execution %r could not be logged (%s event): %s",
            row[0],
            "start" if row[5] == "running" else "finish",
            self.stats.last_error,
        )

    async def _close_stale(self) -> None:
        try:
            pool = await self._get_pool()
            closed = await queries.close_stale_executions(pool, self.stale_after_s)
        except Exception as error:
            logger.warning("could not close stale executions: %s", error)
            return
        if closed:
            self.stats.stale_closed += closed
            logger.warning("closed %d stale running executions as failed", closed)

    async def _get_pool(self) -> asyncpg.Pool:
        # Both shards may find the pool gone at once: create one pool, not two.
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await self._pool_factory()
            return self._pool

    def _count_drops(self, count: int, reason: str, *, force: bool = False) -> None:
        self.stats.dropped += count
        now = time.monotonic()
        if force or now - self._drop_warned_at > 5:  # warn, but not once per event
            self._drop_warned_at = now
            logger.warning(
                "dropped %d execution events (%s); %d dropped in total",
                count,
                reason,
                self.stats.dropped,
            )


def writer_pool_factory(database_url: str, size: int) -> PoolFactory:
    """The writer's own pool, separate from the request pool."""

    async def create() -> asyncpg.Pool:
        return await asyncpg.create_pool(
            database_url,
            # 0: no background reconnect attempts (and their tracebacks) while
            # the database is down; the writer's retries reconnect.
            min_size=0,
            max_size=size,
            timeout=10,  # connect timeout: a server that does not answer is "down"
            command_timeout=30,
            server_settings={"application_name": "execution-log-writer"},
        )

    return create
