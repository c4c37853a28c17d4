"""The background writer: drains the monitor's queue into PostgreSQL.

The hot path calls `enqueue`, which only appends to a bounded in-memory buffer
(bounded by count and by bytes, counting events not yet written; past it,
events are dropped and counted). A task owned by the app's lifespan takes
batches (as soon as `batch_size` events wait, else every `flush_interval_s`),
turns each event into a row of `log_batch_v5` (`rows.py`: cleaning text,
truncating, serialising the trace; in slices, so the event loop is never held
long) and writes the batch in one round trip per connection:
rows are sharded by execution id over the writer's own small pool, so a run's
start and finish always go through the same connection. The connections write
side by side: `log_batch_v5` takes no global lock (readers order changes by
transaction id instead), and gives up on a row lock after 2 s (lock_not_available,
retried as transient) rather than wait behind a session that holds a run.

Faults, and what they cost (errors are classified in `write_errors.py`):
- Transient errors (database down, restarting, out of connections, a
  connection killed, a deadlock or lock timeout): the rows stay where they are
  and are retried with capped, jittered backoff until the database is back.
  Sub-batches already committed are not written again. Fresh connections are
  made only when the old ones are gone or in an unknown state.
- Permanent errors (a function or table missing after a schema mismatch, a
  missing privilege, a password refused): retrying at once cannot help, so the
  writer is "blocked": it says so in `/health/ready` (503) and `/metrics`,
  the events wait in the bounded buffer (past it, drops are counted) and the
  write is tried again every `permanent_retry_interval_s`, until an operator
  fixes the database; nothing is lost that the buffer holds.
- A batch refused for its data (SQLSTATE classes 22, 23, 54, or a value
  asyncpg cannot encode) is split in halves until each bad event is alone;
  that event is counted as failed-to-log (and logged with its id), the rest
  are written.
- A bug that kills the writer loop: the rows in flight are kept, the death is
  counted, the loop restarts and resumes them.
- Shutdown writes what is buffered within a time limit. Past it, the write in
  flight is cancelled and the writer's connections are terminated, so a
  database that hangs cannot hold the process; whatever is left is counted as
  dropped and logged.

Runs alive in this process are never closed as stale: the writer keeps the ids of
the runs it wrote a start for and has not seen finish (fed by the events it writes;
a finish dropped or refused removes its run too) and stamps them in
`execution_heartbeats` every `heartbeat_interval_s`; `close_stale_executions` only
closes runs with no recent stamp, so replicas never close each other's runs. A real
finish that arrives after a stale close replaces it (`log_batch_v3`), counted.

With a spool (`spool_dir`, see `spool.py`), each batch is appended to a local file
before it is sent and the file emptied after the commit; at shutdown what is left
is spooled rather than dropped, and a writer that starts replays the spools of
writers that are gone (`replayed`).

Accounting: `queued + replayed == written + failed_to_log + dropped_at_shutdown +
spooled_at_shutdown + pending` at every moment the loop is not in the middle of a
write (`pending`: buffered or in flight). Drops at a full buffer are not queued.
"""

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from langgraph_execution_monitor.events import ExecutionEvent, ExecutionFinished, ExecutionStarted
from langgraph_execution_monitor.rows import (
    DEFAULT_MAX_TRACE_CHARS,
    EVENT_BASE_BYTES,
    Row,
    TextCleaner,
    event_row,
    event_rows,
    event_size,
    rows_to_json,
)
from langgraph_execution_monitor.serialize import DEFAULT_MAX_OUTPUT_CHARS
from langgraph_execution_monitor.spool import Spool
from langgraph_execution_monitor.storage import queries
from langgraph_execution_monitor.write_errors import (
    WriteErrorKind,
    classify,
    describe,
    needs_new_connections,
)

logger = logging.getLogger(__name__)

# Ids per heartbeat call; and the most live runs the registry keeps (past it the
# oldest are forgotten: they may then be closed as stale after the threshold).
HEARTBEAT_CHUNK = 10_000
MAX_LIVE_RUNS = 100_000

# After the drain limit, how long stop() waits for the cancelled write to end
# (its connections terminated) before leaving it behind.
ABANDON_WAIT_S = 1.0


@dataclass
class WriterStats:
    """Counters for /health and /metrics. Every loss shows up here."""

    queued: int = 0  # events accepted by enqueue
    written: int = 0  # events whose (sub-)batch was committed
    rows_changed: int = 0  # rows inserted or finished by those batches
    batches: int = 0  # committed log_batch calls
    retries: int = 0  # failed write attempts that were retried (transient errors)
    permanent_errors: int = 0  # failed write attempts an operator must fix (see write_errors)
    # Set while writes fail with a permanent error (the last one), None once one succeeds.
    blocked_by: str | None = None
    dropped: int = 0  # dropped_buffer_full + dropped_at_shutdown
    dropped_buffer_full: int = 0  # refused by enqueue (never queued)
    dropped_at_shutdown: int = 0  # queued, still unwritten when the drain limit passed
    failed_to_log: int = 0  # refused by the database even alone, or unconvertible
    writer_restarts: int = 0
    stale_closed: int = 0
    stale_replaced: int = 0  # stale closes a real finish replaced
    heartbeats: int = 0  # heartbeat calls that succeeded
    heartbeat_errors: int = 0
    compactions: int = 0  # compact_rollups calls that succeeded
    compaction_errors: int = 0
    partitions_created: int = 0  # day partitions made ahead by this writer's maintenance
    partitions_dropped: int = 0  # day partitions dropped past the retention
    maintenance_errors: int = 0  # maintenance calls that failed (tried again next interval)
    replayed: int = 0  # rows of gone writers' spools taken into flight (then written)
    spooled_at_shutdown: int = 0  # left unwritten at shutdown, kept in the spool
    spool_errors: int = 0  # failed spool writes (the batch is still sent)
    last_write_ms: float = 0.0
    write_latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1024))
    last_error: str | None = None
    connected: bool = False


# Conversion runs on the event loop it shares with requests, in slices: at most
# CONVERT_SLICE events or CONVERT_SLICE_S of work, then the loop is yielded. While the
# writer keeps up (fewer than PACE_BELOW events waiting), it also lets CONVERT_PACE_S
# pass between slices, so that a batch's conversion is spread over several requests
# instead of landing in one (the p99 of a request that coincides with a batch).
CONVERT_SLICE = 100
CONVERT_SLICE_S = 0.0001
CONVERT_PACE_S = 0.001
PACE_BELOW = 500
# Batches smaller than this are written by one statement, not one per connection.
SHARD_MIN_ROWS = 200


PoolFactory = Callable[[], Awaitable[asyncpg.Pool]]
# A batch write: the events as `rows_to_json` encodes them -> (rows changed, stale
# closes replaced). By default `queries.log_batch_v5`; the benchmark passes v4 (the
# previous releases' path, with the global lock).
BatchWrite = Callable[[asyncpg.Pool, str], Awaitable[tuple[int, int]]]


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
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
        max_trace_chars: int = DEFAULT_MAX_TRACE_CHARS,
        retry_max_backoff_s: float = 5.0,
        permanent_retry_interval_s: float = 30.0,
        stale_after_s: float | None = 3600.0,
        stale_check_interval_s: float = 60.0,
        heartbeat_interval_s: float | None = None,
        rollup_compact_interval_s: float | None = 5.0,
        partition_maintenance_interval_s: float | None = 3600.0,
        retention_days: int = 30,
        rollup_retention_days: int = 400,
        connections: int = 2,
        owns_pool: bool = True,
        spool_dir: Path | str | None = None,
        write_batch: BatchWrite | None = None,
    ) -> None:
        self._pool_factory = pool_factory
        self._write_batch = write_batch
        # False for a pool the application lent (ExecutionMonitor(pool=...)): it is
        # never closed or terminated here.
        self.owns_pool = owns_pool
        self._pool: asyncpg.Pool | None = None
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.retry_max_backoff_s = retry_max_backoff_s
        self.permanent_retry_interval_s = permanent_retry_interval_s
        self.stale_after_s = stale_after_s
        self.stale_check_interval_s = stale_check_interval_s
        # Well within the threshold, so that a live run is stamped several times
        # before any sweep could take it for abandoned.
        if heartbeat_interval_s is None:
            heartbeat_interval_s = min(60.0, (stale_after_s or 180.0) / 3)
        self.heartbeat_interval_s = heartbeat_interval_s
        # The write path appends rollup deltas (no row shared between writers); this
        # folds them now and then so that the stats reads stay short.
        self.rollup_compact_interval_s = rollup_compact_interval_s
        # Partitions made ahead, days past the retention dropped (None: never, e.g. where
        # pg_cron does it). Every writer calls it; the function lets one work at a time.
        self.partition_maintenance_interval_s = partition_maintenance_interval_s
        self.retention_days = retention_days
        self.rollup_retention_days = rollup_retention_days
        self._maintenance: asyncio.Task[None] | None = None
        # Runs whose start this writer wrote and whose finish it has not seen
        # (a dict as an ordered set: the oldest first).
        self._live: dict[str, None] = {}
        self.spool_dir = spool_dir
        self._spool: Spool | None = None
        self._replay_done = False
        # With a spool: rows converted and spooled, waiting for a batch (the spool
        # takes the buffer in while a write is in flight, so that a kill during a
        # long write or an outage loses no more than one flush interval).
        self._ready: deque[tuple[Row, int]] = deque()
        # Concurrent log_batch calls per batch (rows sharded by execution id);
        # the pool must allow as many connections.
        self.connections = max(1, connections)
        self._clean = TextCleaner(
            max_text_chars, max_output_chars=max_output_chars, max_trace_chars=max_trace_chars
        )
        self._buffer: deque[tuple[ExecutionEvent, int]] = deque()
        # Accepted and not yet written, failed or dropped: buffered or in flight.
        self._pending = 0
        self._pending_bytes = 0
        # The batch in flight: per shard, a stack of row chunks still to write
        # (kept across a writer restart), and the bytes it holds.
        self._work: list[list[list[Row]]] = []
        self._work_bytes = 0
        # Starts of the work in flight set aside for their finish's row (`_merge_starts`).
        self._merged: dict[Any, Any] = {}
        self._wakeup = asyncio.Event()
        self._stop_requested = asyncio.Event()
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
            if self._live:  # its finish is lost: stop stamping the run as alive
                self._forget(event)
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
    def live_runs(self) -> int:
        """Runs this writer saw start and not finish (stamped as alive)."""
        return len(self._live)

    def _forget(self, event: Any) -> None:
        with contextlib.suppress(Exception):
            self._live.pop(event.execution_id, None)

    @property
    def waiting(self) -> int:
        """Events in the buffer, not yet taken into a batch."""
        return len(self._buffer) + len(self._ready)

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._stop_requested.clear()
        if self.spool_dir is not None and self._spool is None:
            try:
                self._spool = Spool(self.spool_dir)
                self._replay_done = False
            except OSError as error:
                self.stats.spool_errors += 1
                logger.error(
                    "cannot open the spool in %s (%s): running without", self.spool_dir, error
                )
        self._task = asyncio.get_running_loop().create_task(
            self._supervise(), name="execution-log-writer"
        )
        self._task.add_done_callback(self._task_ended)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Write what is buffered (up to the time limit), then stop. What is
        left after the limit is counted as dropped. Returns within about
        `drain_timeout_s + 2 * ABANDON_WAIT_S` even when the database hangs."""
        self._stopping = True
        self._stop_requested.set()
        self._wakeup.set()
        maintenance, self._maintenance = self._maintenance, None
        if maintenance is not None:
            maintenance.cancel()  # nothing of it is lost: the next start runs it again
        task, self._task = self._task, None
        if task is not None and not task.done():
            done, _ = await asyncio.wait({task}, timeout=drain_timeout_s)
            if not done:
                await self._abandon(task)
        if self._pending and self._spool is not None:
            self._spool_leftovers()
        if self._pending:
            self.stats.dropped_at_shutdown += self._pending
            self._count_drops(self._pending, "shutdown drain time limit reached", force=True)
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        self._buffer.clear()
        self._ready.clear()
        self._work = []
        self._merged = {}
        self._pending = self._pending_bytes = self._work_bytes = 0
        if self._pool is not None:
            pool, self._pool = self._pool, None
            if self.owns_pool:
                try:
                    await asyncio.wait_for(pool.close(), 2)
                except Exception:
                    pool.terminate()
        if maintenance is not None:  # its connection is closed now: it ends
            await asyncio.wait({maintenance}, timeout=ABANDON_WAIT_S)
        self.stats.connected = False

    def _spool_leftovers(self, budget_s: float = 1.0) -> None:
        """At shutdown, keep in the spool what the drain limit left: the rows in
        flight and the buffered events (converted for up to `budget_s`; the rest
        is dropped, counted)."""
        assert self._spool is not None
        rows = [row for stack in self._work for chunk in stack for row in chunk]
        rows.extend(row for row, _ in self._ready)
        self._ready.clear()
        deadline = time.monotonic() + budget_s
        taken = 0
        while self._buffer and time.monotonic() < deadline:
            events = [
                self._buffer.popleft()[0] for _ in range(min(CONVERT_SLICE, len(self._buffer)))
            ]
            converted, failed = event_rows(events, self._clean)
            rows.extend(converted)
            taken += len(events)
            if failed:
                self.stats.failed_to_log += len(failed)
                self._pending -= len(failed)
        try:
            self._spool.clear()
            self._spool.append(rows)
        except OSError as error:
            self.stats.spool_errors += 1
            logger.error("cannot spool %d events at shutdown: %s", len(rows), error)
            return
        self.stats.spooled_at_shutdown += len(rows)
        self._pending -= len(rows)
        logger.warning(
            "spooled %d execution events left unwritten at shutdown to %s; the next start "
            "writes them",
            len(rows),
            self._spool.path,
        )

    async def _abandon(self, task: asyncio.Task[None]) -> None:
        """The drain limit passed: cancel the write in flight. A cancelled
        asyncpg query still waits (shielded) for the server to acknowledge the
        cancel and for the connection's reset, which a hung server never
        gives: terminating the pool's connections ends those waits."""
        task.cancel()
        pool = self._pool
        if pool is not None and self.owns_pool:
            self._pool = None
            pool.terminate()
        for _ in range(2):  # a second cancel gets through asyncpg's shield
            done, _ = await asyncio.wait({task}, timeout=ABANDON_WAIT_S)
            if done:
                break
            task.cancel()
        if not task.done():
            logger.error("execution log writer did not stop after its drain limit; left behind")
        elif not task.cancelled() and task.exception() is not None:
            logger.warning("execution log writer ended with %r at shutdown", task.exception())

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
        if self._spool is not None and not self._replay_done:
            await self._replay_spools()
        next_stale_check = time.monotonic()
        next_maintenance = time.monotonic()  # at once: today's partition may be missing
        # The runs this writer sees are young for a whole interval: the first stamp
        # waits for it (and so does not stall the first batches behind a slow server).
        next_heartbeat = time.monotonic() + self.heartbeat_interval_s
        next_compaction = time.monotonic() + (self.rollup_compact_interval_s or 0.0)
        last_batch_at = -math.inf
        while True:
            if not self._work:
                wait = last_batch_at + self.flush_interval_s - time.monotonic()
                if self.waiting and wait <= 0:
                    pass  # an interval has passed since the last batch began: go
                elif not self._stopping and self.waiting < self.batch_size:
                    # Batch by size or time: a full batch, or one interval after the
                    # last batch began (so a write's own duration is not added).
                    self._wakeup.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._wakeup.wait(), wait if self.waiting else self.flush_interval_s
                        )
                if self.waiting:
                    last_batch_at = time.monotonic()
                    await self._take_batch()
                elif self._stopping:
                    return
            if self._work:
                await self._write_work()
            if self._live and not self._stopping and time.monotonic() >= next_heartbeat:
                next_heartbeat = time.monotonic() + self.heartbeat_interval_s
                await self._heartbeat()
            if (
                self.stale_after_s is not None
                and not self._stopping
                and time.monotonic() >= next_stale_check
            ):
                next_stale_check = time.monotonic() + self.stale_check_interval_s
                await self._close_stale()
            if (
                self.rollup_compact_interval_s is not None
                and not self._stopping
                and time.monotonic() >= next_compaction
            ):
                next_compaction = time.monotonic() + self.rollup_compact_interval_s
                await self._compact_rollups()
            if (
                self.partition_maintenance_interval_s is not None
                and not self._stopping
                and time.monotonic() >= next_maintenance
                and (self._maintenance is None or self._maintenance.done())
            ):
                next_maintenance = time.monotonic() + self.partition_maintenance_interval_s
                # A task of its own (stopped by stop()): its DDL may wait for locks,
                # and a slow or hung call must not hold the batches back.
                self._maintenance = asyncio.get_running_loop().create_task(
                    self._maintain_partitions(), name="execution-log-partitions"
                )

    async def _replay_spools(self) -> None:
        """Write what writers that are gone left in their spools (once per start)."""
        assert self._spool is not None
        for orphan in self._spool.orphans():
            rows = orphan.rows()
            if rows:
                logger.warning(
                    "replaying %d execution events from %s (a writer that stopped)",
                    len(rows),
                    orphan.path.name,
                )
                self.stats.replayed += len(rows)
                self._pending += len(rows)
                self._work = [[shard] for shard in self._shard(rows) if shard]
                self._work_bytes = 0
                await self._write_work()
            orphan.discard()
        self._replay_done = True

    def _shard(self, rows: list[Row]) -> list[list[Row]]:
        """Rows by connection: a run's events always go through the same one. A small
        batch goes whole through one: a second statement would cost more than it saves."""
        if self.connections == 1 or len(rows) < SHARD_MIN_ROWS:
            return [rows]
        shards: list[list[Row]] = [[] for _ in range(self.connections)]
        for row in rows:
            shards[hash(row[0]) % self.connections].append(row)
        return shards

    def _spool_append(self, rows: list[Row]) -> None:
        assert self._spool is not None
        try:
            self._spool.append(rows)
        except Exception as error:  # a full disk must not stop the writes
            self.stats.spool_errors += 1
            if self.stats.spool_errors == 1 or self.stats.spool_errors % 100 == 0:
                logger.error("cannot spool a batch (%s); sending it anyway", error)

    async def _pump(self, until: int | None = None) -> None:
        """With a spool: convert buffered events (in slices) and spool them, into
        `_ready`; until `until` rows are ready, or the buffer is empty."""
        assert self._spool is not None
        first = True
        while self._buffer and (until is None or len(self._ready) < until):
            if not first:
                await self._between_slices()
            first = False
            taken = [self._buffer.popleft() for _ in range(min(CONVERT_SLICE, len(self._buffer)))]
            rows: list[Row] = []
            unconvertible: list[Any] = []
            done = self._convert_slice(taken, 0, rows, unconvertible)
            if done < len(taken):  # the slice's time budget ended it early
                self._buffer.extendleft(reversed(taken[done:]))
                del taken[done:]
            failed = {id(event) for event in unconvertible}
            converted = [(event, size) for event, size in taken if id(event) not in failed]
            for event, size in taken:
                if id(event) in failed:
                    self.stats.failed_to_log += 1
                    self._pending -= 1
                    self._pending_bytes -= size
                    self._forget(event)
            if rows:
                self._spool_append(rows)
                self._ready.extend(zip(rows, (size for _, size in converted), strict=True))

    def _convert_slice(
        self,
        taken: list[tuple[Any, int]],
        begin: int,
        rows: list[Row],
        unconvertible: list[Any],
    ) -> int:
        """Convert ``taken[begin:]`` into `rows` until CONVERT_SLICE events or
        CONVERT_SLICE_S have gone by; returns the index after the last one converted
        (an event that cannot be converted goes to `unconvertible`)."""
        deadline = time.perf_counter() + CONVERT_SLICE_S
        end = min(len(taken), begin + CONVERT_SLICE)
        clean = self._clean
        index = begin
        while index < end:
            event = taken[index][0]
            index += 1
            try:
                rows.append(event_row(event, clean))
            except Exception:
                logger.exception(
                    "cannot convert execution event %r", getattr(event, "execution_id", "?")
                )
                unconvertible.append(event)
            if time.perf_counter() >= deadline:
                break
        return index

    async def _between_slices(self) -> None:
        """Yield the loop; while the writer keeps up, also let a little time pass."""
        keeping_up = not self._stopping and self.waiting < PACE_BELOW
        await asyncio.sleep(CONVERT_PACE_S if keeping_up else 0)

    async def _take_ready(self) -> None:
        """With a spool: the next batch from the rows spooled already."""
        await self._pump(until=self.batch_size)
        count = min(self.batch_size, len(self._ready))
        taken = [self._ready.popleft() for _ in range(count)]
        rows = [row for row, _ in taken]
        self._track_live(rows)
        self._work = [[shard] for shard in self._shard(rows) if shard]
        self._work_bytes = sum(size for _, size in taken)

    def _track_live(self, rows: list[Row]) -> None:
        live = self._live
        for row in rows:
            if row[5] == "running":
                live[row[0]] = None
            else:
                live.pop(row[0], None)
        while len(live) > MAX_LIVE_RUNS:
            del live[next(iter(live))]

    async def _take_batch(self) -> None:
        """Move up to batch_size events from the buffer into the work in flight,
        converting them in slices so that requests sharing the loop are not held
        up by a whole batch's conversion."""
        if self._spool is not None:
            await self._take_ready()
            return
        count = min(self.batch_size, len(self._buffer))
        taken = [self._buffer.popleft() for _ in range(count)]
        try:
            converting, merged = self._merge_starts(taken)
            rows: list[Row] = []
            unconvertible: list[Any] = []
            begin = 0
            while begin < len(converting):
                if begin:
                    await self._between_slices()
                begin = self._convert_slice(converting, begin, rows, unconvertible)
            if unconvertible and merged:  # their starts are written after all
                rows.extend(self._unmerge(merged, self._ids_of(unconvertible)))
            shards = self._shard(rows)
        except BaseException:
            self._buffer.extendleft(reversed(taken))
            raise
        self._track_live(rows)
        if unconvertible:
            self.stats.failed_to_log += len(unconvertible)
            self._pending -= len(unconvertible)
            for event in unconvertible:
                self._forget(event)
        self._merged = merged
        self._work = [[shard] for shard in shards if shard]
        self._work_bytes = sum(size for _, size in taken)

    def _merge_starts(
        self, taken: list[tuple[Any, int]]
    ) -> tuple[list[tuple[Any, int]], dict[Any, Any]]:
        """A run whose start and finish are both in the batch needs one row: the finish
        carries every field of its start. The start is set aside unconverted (by its
        finish's row id) and counted as written when that row is; should the finish be
        refused or fail to convert, the start is written instead, as it was before."""
        try:
            finished = {
                event.execution_id
                for event, _ in taken
                if event.__class__ is ExecutionFinished and event.execution_id.__class__ is str
            }
            if not finished:
                return taken, {}
            converting: list[tuple[Any, int]] = []
            merged: dict[Any, Any] = {}
            clean = self._clean
            for item in taken:
                event = item[0]
                if event.__class__ is ExecutionStarted and event.execution_id in finished:
                    merged[clean(event.execution_id)] = event
                else:
                    converting.append(item)
            return converting, merged
        except Exception:  # an odd event: convert everything, as it is
            logger.exception("cannot merge the batch's starts into their finishes")
            return taken, {}

    def _ids_of(self, events: list[Any]) -> list[Any]:
        """The row ids of these events (cleaned as their rows' are); odd ones skipped."""
        ids = []
        for event in events:
            try:
                ids.append(self._clean(event.execution_id))
            except Exception:
                continue
        return ids

    def _unmerge(self, merged: dict[Any, Any], ids: list[Any]) -> list[Row]:
        """The rows of the starts set aside under these row ids, taken out of `merged`
        (their finishes were not written); a start that cannot be converted is counted."""
        starts = [s for s in (merged.pop(row_id, None) for row_id in ids) if s is not None]
        if not starts:
            return []
        rows, failed = event_rows(starts, self._clean)
        if failed:
            self.stats.failed_to_log += len(failed)
            self._pending -= len(failed)
        return rows

    async def _write_work(self) -> None:
        if self._spool is None:
            await self._write_stacks()
            return
        # While the batch is written, keep spooling what arrives.
        write = asyncio.ensure_future(self._write_stacks())
        try:
            while not write.done():
                await asyncio.wait({write}, timeout=self.flush_interval_s)
                if not write.done() and self._buffer:
                    await self._pump()
            write.result()
        finally:
            if not write.done():
                write.cancel()
        # Committed: the spool keeps only the rows still waiting.
        self._spool.clear()
        if self._ready:
            self._spool_append([row for row, _ in self._ready])

    async def _write_stacks(self) -> None:
        stacks = [stack for stack in self._work if stack]
        if len(stacks) == 1:
            await self._write_stack(stacks[0])
        elif stacks:
            async with asyncio.TaskGroup() as group:
                for stack in stacks:
                    group.create_task(self._write_stack(stack))
        if self._merged:  # starts whose finish went nowhere (cannot happen): write them
            rows = self._unmerge(self._merged, list(self._merged))
            if rows:
                await self._write_stack([rows])
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
                kind = classify(error)
                if kind is WriteErrorKind.DATA:
                    stack.pop()
                    if len(rows) == 1:
                        self._count_failed(rows[0], error)
                        if self._merged:  # the refused finish's start, on its own
                            start_rows = self._unmerge(self._merged, [rows[0][0]])
                            if start_rows:
                                stack.append(start_rows)
                    else:
                        middle = len(rows) // 2
                        stack.append(rows[middle:])
                        stack.append(rows[:middle])
                    continue
                if kind is None:
                    raise  # a bug: the supervisor counts it and restarts the loop
                attempt += 1
                if kind is WriteErrorKind.PERMANENT:
                    await self._wait_for_fix(attempt, error)
                else:
                    await self._back_off(attempt, error)
                continue
            stack.pop()
            attempt = 0
            if self.stats.blocked_by is not None:
                logger.warning(
                    "execution logs are written again (was blocked by %s)", self.stats.blocked_by
                )
                self.stats.blocked_by = None
            self.stats.connected = True
            written = len(rows)
            merged = self._merged
            if merged:  # starts written within their finish's row
                for row in rows:
                    if merged.pop(row[0], None) is not None:
                        written += 1
            self.stats.written += written
            self._pending -= written

    async def _write_rows(self, rows: list[Row]) -> None:
        pool = await self._get_pool()
        began = time.perf_counter()
        try:
            # Looked up at each call, not bound once: a test may replace it.
            write_batch = self._write_batch or queries.log_batch_v5
            changed, replaced = await write_batch(pool, rows_to_json(rows))
        except Exception as error:
            if needs_new_connections(error) and self._pool is pool and self.owns_pool:
                # Start over with fresh connections (the other shard retries too).
                self._pool = None
                pool.terminate()
            raise
        elapsed_ms = (time.perf_counter() - began) * 1000
        self.stats.last_write_ms = elapsed_ms
        self.stats.write_latencies_ms.append(elapsed_ms)
        self.stats.batches += 1
        self.stats.rows_changed += changed
        if replaced:
            self.stats.stale_replaced += replaced
            logger.warning(
                "%d executions closed as stale got their real finish (replaced)", replaced
            )

    async def _wait_for_fix(self, attempt: int, error: Exception) -> None:
        """A permanent error: wait (slowly, or briefly once stopping) and try
        again; the events stay in flight and in the buffer meanwhile."""
        self.stats.permanent_errors += 1
        self.stats.last_error = self.stats.blocked_by = describe(error)
        interval = self.permanent_retry_interval_s
        if attempt == 1 or attempt % 10 == 0:
            logger.error(
                "cannot write execution logs until the database is fixed (%s); %d events "
                "waiting, trying again every %.0fs",
                self.stats.blocked_by,
                self._pending,
                interval,
            )
        if self._stopping:
            await asyncio.sleep(min(interval, 0.5))
            return
        with contextlib.suppress(TimeoutError):
            # stop() ends the wait: one more try within the drain limit.
            await asyncio.wait_for(self._stop_requested.wait(), interval)

    async def _back_off(self, attempt: int, error: Exception) -> None:
        self.stats.retries += 1
        self.stats.connected = False
        self.stats.last_error = describe(error)
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
        self._live.pop(row[0], None)
        self.stats.last_error = describe(error)
        logger.warning(
            "execution %r could not be logged (%s event): %s",
            row[0],
            "start" if row[5] == "running" else "finish",
            self.stats.last_error,
        )

    async def _heartbeat(self) -> None:
        """Stamp the live runs as alive (in chunks); a failure waits for the next
        interval (the threshold is several intervals long)."""
        ids = list(self._live)
        try:
            pool = await self._get_pool()
            for begin in range(0, len(ids), HEARTBEAT_CHUNK):
                await queries.heartbeat_executions(pool, ids[begin : begin + HEARTBEAT_CHUNK])
        except Exception as error:
            self.stats.heartbeat_errors += 1
            if self.stats.heartbeat_errors == 1 or self.stats.heartbeat_errors % 20 == 0:
                logger.warning("could not stamp %d live executions: %s", len(ids), error)
            return
        self.stats.heartbeats += 1

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

    async def _compact_rollups(self) -> None:
        try:
            pool = await self._get_pool()
            await queries.compact_rollups(pool)
        except Exception as error:
            # Only the reads' speed depends on it: the next round tries again.
            self.stats.compaction_errors += 1
            if self.stats.compaction_errors == 1 or self.stats.compaction_errors % 20 == 0:
                logger.warning("could not compact the rollups: %s", error)
            return
        self.stats.compactions += 1

    async def _maintain_partitions(self) -> None:
        try:
            pool = await self._get_pool()
            done = await queries.maintain_execution_logs(
                pool, self.retention_days, self.rollup_retention_days
            )
        except Exception as error:
            self.stats.maintenance_errors += 1
            logger.warning("could not maintain the execution_logs partitions: %s", error)
            return
        self.stats.partitions_created += len(done.get("created", []))
        self.stats.partitions_dropped += len(done.get("dropped", []))
        if done.get("dropped") or done.get("timed_out"):
            logger.info("execution_logs partitions maintained: %s", done)

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


async def _reset_writer_connection(connection: asyncpg.Connection) -> None:
    """What a writer connection needs before going back to the pool. asyncpg's default
    reset is a round trip per batch (unlisten, unlock, reset settings) for state the
    writer never creates; only a transaction left open by a failure needs undoing."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def prepare_writer_connection(connection: asyncpg.Connection) -> None:
    """Traces and inputs compressed with lz4 where the server has it: pglz compressing
    them was about 8% of a batch's server CPU (a small agent's trace is over the 2 kB
    that PostgreSQL compresses from), lz4 a tenth of that, and it reads back faster.
    A setting of the writer's sessions, not of the table: servers built without lz4
    keep pglz, and the schema is the same everywhere."""
    await queries.prefer_lz4_compression(connection)


def writer_pool_factory(
    database_url: str,
    size: int,
    init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> PoolFactory:
    """The writer's own pool, separate from the request pool; `init` is awaited with
    each new connection, after the writer's own settings."""

    async def prepare(connection: asyncpg.Connection) -> None:
        await prepare_writer_connection(connection)
        if init is not None:
            await init(connection)

    async def create() -> asyncpg.Pool:
        return await asyncpg.create_pool(
            database_url,
            init=prepare,
            reset=_reset_writer_connection,
            # 0: no background reconnect attempts (and their tracebacks) while
            # the database is down; the writer's retries reconnect.
            min_size=0,
            max_size=size,
            timeout=10,  # connect timeout: a server that does not answer is "down"
            command_timeout=30,
            server_settings={"application_name": "execution-log-writer"},
        )

    return create
