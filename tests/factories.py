"""Execution events for tests, with sensible defaults."""

import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from langgraph_execution_monitor.events import ExecutionFinished, ExecutionStarted
from langgraph_execution_monitor.rows import TextCleaner, batch_columns, event_rows, rows_to_json
from langgraph_execution_monitor.storage import queries

# The seed's listing row, key for key (the detail adds "execution_trace").
SEED_SUMMARY_KEYS = frozenset(
    {
        "id",
        "conversation_id",
        "user_id",
        "request_message",
        "response_message",
        "status",
        "started_at",
        "completed_at",
        "total_duration_ms",
        "failed_nodes",
        "error_summary",
    }
)
# Fields added beside the seed's: the run's token totals.
TOKEN_KEYS = frozenset({"input_tokens", "output_tokens", "total_tokens", "llm_calls"})
SUMMARY_KEYS = SEED_SUMMARY_KEYS | TOKEN_KEYS


def started(
    execution_id: str | None = None,
    *,
    user_id: str = "user-001",
    conversation_id: str | None = "conv-1",
    request_message: str = "Create a LinkedIn post about AI",
    started_at: float | None = None,
    ago_s: float = 0.0,
) -> ExecutionStarted:
    return ExecutionStarted(
        execution_id or str(uuid.uuid4()),
        conversation_id,
        user_id,
        request_message,
        started_at if started_at is not None else time.time() - ago_s,
    )


def finished(
    start: ExecutionStarted,
    *,
    status: str = "completed",
    duration_s: float = 0.25,
    response_message: str | None = "Here is your post",
    trace: list[dict[str, Any]] | None = None,
    failed_nodes: list[str] | None = None,
    error_summary: str | None = None,
) -> ExecutionFinished:
    if trace is None:
        trace = [
            {
                "node": node,
                "status": "failed" if node in (failed_nodes or []) else "completed",
                "execution_time_ms": 10.0 * (index + 1),
                "timestamp": start.started_at + 0.01 * (index + 1),
                "started_at": start.started_at,
                "step": index + 1,
                "parent": None,
                "attempt": 1,
            }
            for index, node in enumerate(
                ["guardrail_check", "intent_classifier", *(failed_nodes or [])]
            )
        ]
    return ExecutionFinished(
        *start[:5],
        completed_at=start.started_at + duration_s,
        status=status,
        response_message=response_message,
        execution_trace=trace,
        failed_nodes=failed_nodes or [],
        error_summary=error_summary,
    )


async def write(db: queries.Executor, *events: Any) -> int:
    """Write events in one batch, as the background writer does; the rows written."""
    rows, unconvertible = event_rows(list(events), TextCleaner(65_536))
    assert not unconvertible
    written, _ = await queries.log_batch_v5(db, rows_to_json(rows))
    return written


async def write_v4(db: queries.Executor, *events: Any) -> int:
    """`write` through log_batch_v4, as writers did before log_batch_v5 (the global lock)."""
    rows, unconvertible = event_rows(list(events), TextCleaner(65_536))
    assert not unconvertible
    written, _ = await queries.log_batch_v4(db, rows_to_json(rows))
    return written


async def write_v3(db: queries.Executor, *events: Any) -> int:
    """`write` through log_batch_v3, as writers did before log_batch_v4 (and before
    the rollups)."""
    columns, unconvertible = batch_columns(list(events), TextCleaner(65_536))
    assert not unconvertible
    written, _ = await queries.log_batch_v3(db, columns)
    return written


RANDOM_NODES = ("guardrail_check", "intent_classifier", "data_checker", "orchestrator", "writer")
STATUSES = ("completed", "completed", "completed", "failed", "partial", "interrupted")


def random_duration_ms(rng: random.Random) -> float:
    """Log-uniform from 0.05 ms to 100 s, with a few repeated round values."""
    if rng.random() < 0.2:
        return float(rng.choice((0, 10, 250, 1000)))
    return round(10 ** rng.uniform(-1.3, 5), 3)


def random_run(
    rng: random.Random, span_s: float = 60 * 3600
) -> tuple[ExecutionStarted, ExecutionFinished]:
    """A run started within the last `span_s` seconds, and its finish."""
    start = started(ago_s=rng.uniform(0, span_s), user_id=f"u{rng.randrange(5)}")
    status = rng.choice(STATUSES)
    failed_nodes: list[str] = []
    if status in ("failed", "partial"):
        failed_nodes = rng.sample(RANDOM_NODES, rng.randrange(1, 3))
    if rng.random() < 0.1:
        failed_nodes.append(failed_nodes[0] if failed_nodes else "writer")  # named twice
    trace: list[dict[str, Any]] = []
    for step in range(rng.randrange(0, 7)):
        node = rng.choice(RANDOM_NODES)
        entry: dict[str, Any] = {
            "node": node,
            "status": "failed" if node in failed_nodes and rng.random() < 0.7 else "completed",
            "step": step + 1,
            "attempt": 1,
        }
        if rng.random() < 0.9:
            entry["execution_time_ms"] = random_duration_ms(rng)
        if rng.random() < 0.5:
            tokens = rng.randrange(0, 900)
            entry["tokens"] = {
                "input": tokens,
                "output": tokens // 3,
                "total": tokens + tokens // 3,
            }
            entry["llm_calls"] = [{}]
        trace.append(entry)
    finish = finished(
        start,
        status=status,
        duration_s=random_duration_ms(rng) / 1000,
        trace=trace,
        failed_nodes=failed_nodes,
        error_summary="boom" if failed_nodes else None,
    )
    return start, finish


async def write_shuffled(
    db: queries.Executor,
    rng: random.Random,
    runs: int,
    write_batch: Callable[..., Awaitable[int]] = write,
    span_s: float = 60 * 3600,
) -> None:
    """Starts and finishes of `runs` runs started within the last `span_s` seconds, in
    random batches and order: some finishes before their start, some batches written
    twice, some runs never finished."""
    events: list[Any] = []
    for _ in range(runs):
        start, finish = random_run(rng, span_s)
        events.append(start)
        if rng.random() < 0.9:
            events.append(finish)
    rng.shuffle(events)
    while events:
        size = rng.randrange(1, 40)
        batch, events = events[:size], events[size:]
        await write_batch(db, *batch)
        if rng.random() < 0.2:
            await write_batch(db, *batch)  # a retried batch
