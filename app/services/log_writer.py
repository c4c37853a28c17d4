"""The background writer: drains the monitor's queue into PostgreSQL.

The hot path calls `enqueue`, which only appends to a bounded in-memory buffer
(bounded by count and by bytes; past it, events are dropped and counted).
A task owned by the app's lifespan takes batches (by size, or every flush
interval), turns them into the parallel arrays of `log_batch` (cleaning text,
truncating, serialising the trace) and writes each batch in one round trip
over its own small pool.

Faults: connection-level errors keep the batch and retry with capped, jittered
backoff until the database is back. A batch the database refuses for its data
is split in halves until the bad event is alone; that event is counted as
failed-to-log and the rest are written. If the writer task dies of a bug it is
restarted (and the death counted). Shutdown drains within a time limit.
"""

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from app.services.execution_events import ExecutionEvent, ExecutionFinished
from app.storage import queries

logger = logging.getLogger(__name__)

# SQLSTATE classes that mean "this data cannot be stored": retrying the same
# batch would fail forever, so the batch is split to find the bad event.
DATA_ERROR_CLASSES = ("22", "23", "54")

# Rough per-event overhead beyond its text, for the byte bound.
EVENT_BASE_BYTES = 256
TRACE_ENTRY_BYTES = 160


@dataclass
class WriterStats:
    """Counters for /health and /metrics. Every loss shows up here."""

    queued: int = 0  # events accepted by enqueue
    written: int = 0  # events whose batch was committed
    rows_changed: int = 0  # rows inserted or finished by those batches
    batches: int = 0
    retries: int = 0
    dropped: int = 0  # buffer full, or left over at shutdown
    failed_to_log: int = 0  # refused by the database even alone
    writer_restarts: int = 0
    stale_closed: int = 0
    last_write_ms: float = 0.0
    write_latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1024))
    last_error: str | None = None
    connected: bool = False


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextCleaner:
    """Makes any text storable: no NUL bytes, no lone surrogates, bounded length
    (with a visible marker where it was cut)."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    def __call__(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            value = repr(value)
        if len(value) > self.max_chars:
            cut = len(value) - self.max_chars
            value = f"{value[: self.max_chars]}… [truncated {cut} characters]"
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        if not value.isascii():
            # Lone surrogates cannot be encoded as UTF-8; replace them.
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value


def _trace_json(trace: list[dict[str, Any]], clean: TextCleaner) -> str:
    entries = []
    for raw in trace:
        entry: dict[str, Any] = {}
        for key, value in raw.items():
            if key in ("timestamp", "started_at") and isinstance(value, float):
                entry[key] = _iso(value)
            elif isinstance(value, str) or key in ("node", "error", "status", "parent"):
                entry[key] = clean(value)
            elif isinstance(value, bool | int | None):
                entry[key] = value
            elif isinstance(value, float):
                entry[key] = (
                    round(value, 3) if value == value and abs(value) != float("inf") else None
                )
            else:
                entry[key] = clean(value)
        entries.append(entry)
    return json.dumps(entries, ensure_ascii=False, allow_nan=False)


def batch_columns(
    events: list[ExecutionEvent], clean: TextCleaner
) -> tuple[list[list[Any]], list[ExecutionEvent]]:
    """The 11 parallel arrays of `log_batch` for these events, and the events
    that could not even be converted (counted as failed-to-log)."""
    columns: list[list[Any]] = [[] for _ in range(11)]
    unconvertible: list[ExecutionEvent] = []
    for event in events:
        try:
            if isinstance(event, ExecutionFinished):
                row = (
                    clean(event.execution_id),
                    clean(event.conversation_id),
                    clean(event.user_id),
                    clean(event.request_message) or "",
                    float(event.started_at),
                    event.status,
                    float(event.completed_at),
                    clean(event.response_message),
                    _trace_json(event.execution_trace, clean),
                    json.dumps([clean(node) for node in event.failed_nodes], ensure_ascii=False),
                    clean(event.error_summary),
                )
            else:
                row = (
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
        except Exception:
            logger.exception(
                "cannot convert execution event %r", getattr(event, "execution_id", "?")
            )
            unconvertible.append(event)
            continue
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns, unconvertible


def event_size(event: ExecutionEvent) -> int:
    """Approximate bytes an event holds, for the buffer's byte bound."""
    size = EVENT_BASE_BYTES + len(event.request_message)
    if isinstance(event, ExecutionFinished):
        size += len(event.response_message or "") + TRACE_ENTRY_BYTES * len(event.execution_trace)
    return size


def _is_data_error(error: BaseException) -> bool:
    sqlstate = getattr(error, "sqlstate", None) or ""
    return isinstance(error, asyncpg.PostgresError) and sqlstate[:2] in DATA_ERROR_CLASSES


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
        self._clean = TextCleaner(max_text_chars)
        self._buffer: deque[tuple[ExecutionEvent, int]] = deque()
        self._buffered_bytes = 0
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._drop_warned_at = 0.0
        self.stats = WriterStats()

    # -- hot path ---------------------------------------------------------

    def enqueue(self, event: ExecutionEvent) -> bool:
        """Buffer an event; never blocks, never raises. False if dropped."""
        size = event_size(event)
        if len(self._buffer) >= self.max_events or self._buffered_bytes + size > self.max_bytes:
            self._count_drops(1, "buffer full")
            return False
        self._buffer.append((event, size))
        self._buffered_bytes += size
        self.stats.queued += 1
        if len(self._buffer) >= self.batch_size:
            self._wakeup.set()
        return True

    @property
    def queue_depth(self) -> int:
        return len(self._buffer)

    @property
    def buffered_bytes(self) -> int:
        return self._buffered_bytes

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._supervise(), name="execution-log-writer")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Write what is buffered (up to the time limit), then stop. What is
        left after the limit is counted as dropped."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), drain_timeout_s)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self._buffer:
            self._count_drops(len(self._buffer), "shutdown drain time limit reached")
            self._buffer.clear()
            self._buffered_bytes = 0
        if self._pool is not None:
            pool, self._pool = self._pool, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), 2)
        self.stats.connected = False

    # -- the task ---------------------------------------------------------

    async def _supervise(self) -> None:
        """Run the writer loop; if it dies of a bug, count it and restart."""
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
                if self._stopping:
                    return
                await asyncio.sleep(min(1.0, self.flush_interval_s * 4))

    async def _run(self) -> None:
        next_stale_check = time.monotonic()
        while True:
            if not self._buffer:
                if self._stopping:
                    return
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self.flush_interval_s)
            if self._buffer:
                await self._write_next_batch()
            if self.stale_after_s is not None and time.monotonic() >= next_stale_check:
                next_stale_check = time.monotonic() + self.stale_check_interval_s
                await self._close_stale()

    def _take_batch(self) -> list[tuple[ExecutionEvent, int]]:
        count = min(self.batch_size, len(self._buffer))
        return [self._buffer.popleft() for _ in range(count)]

    def _put_back(self, batch: list[tuple[ExecutionEvent, int]]) -> None:
        self._buffer.extendleft(reversed(batch))

    async def _write_next_batch(self) -> None:
        batch = self._take_batch()
        try:
            await self._write_with_retry([event for event, _ in batch])
        except BaseException:
            # Not written (cancelled at shutdown, or a bug): keep the events.
            self._put_back(batch)
            raise
        self._buffered_bytes -= sum(size for _, size in batch)

    async def _write_with_retry(self, events: list[ExecutionEvent]) -> None:
        attempt = 0
        while True:
            try:
                await self._write_isolating_bad_events(events)
                self.stats.connected = True
                return
            except Exception as error:
                attempt += 1
                self.stats.retries += 1
                self.stats.connected = False
                self.stats.last_error = f"{type(error).__name__}: {error}"
                delay = min(self.retry_max_backoff_s, 0.05 * 2 ** min(attempt, 10))
                delay *= random.uniform(0.5, 1.0)
                if attempt == 1 or attempt % 20 == 0:
                    logger.warning(
                        "cannot write execution logs (%s); %d events buffered, retrying in %.2fs",
                        self.stats.last_error,
                        len(self._buffer) + len(events),
                        delay,
                    )
                await self._discard_pool()
                await asyncio.sleep(delay)

    async def _write_isolating_bad_events(self, events: list[ExecutionEvent]) -> None:
        """Write `events`; if the database refuses the data, split the batch
        until each bad event is alone, write the rest, count the bad ones."""
        try:
            await self._write(events)
        except Exception as error:
            if not _is_data_error(error):
                raise
            if len(events) == 1:
                self.stats.failed_to_log += 1
                self.stats.last_error = f"{type(error).__name__}: {error}"
                logger.warning(
                    "execution %s could not be logged: %s", events[0].execution_id, error
                )
                return
            middle = len(events) // 2
            await self._write_isolating_bad_events(events[:middle])
            await self._write_isolating_bad_events(events[middle:])

    async def _write(self, events: list[ExecutionEvent]) -> None:
        columns, unconvertible = batch_columns(events, self._clean)
        self.stats.failed_to_log += len(unconvertible)
        pool = await self._get_pool()
        began = time.perf_counter()
        changed = await queries.log_batch(pool, columns)
        elapsed_ms = (time.perf_counter() - began) * 1000
        self.stats.last_write_ms = elapsed_ms
        self.stats.write_latencies_ms.append(elapsed_ms)
        self.stats.batches += 1
        self.stats.written += len(events) - len(unconvertible)
        self.stats.rows_changed += changed or 0

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
        if self._pool is None:
            self._pool = await self._pool_factory()
        return self._pool

    async def _discard_pool(self) -> None:
        """After a connection error, start over with fresh connections."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.terminate()

    def _count_drops(self, count: int, reason: str) -> None:
        self.stats.dropped += count
        now = time.monotonic()
        if now - self._drop_warned_at > 5:  # warn, but not once per event
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
            min_size=1,
            max_size=size,
            command_timeout=30,
            server_settings={"application_name": "execution-log-writer"},
        )

    return create
