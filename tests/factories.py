"""Execution events for tests, with sensible defaults."""

import time
import uuid
from typing import Any

from langgraph_execution_monitor.events import ExecutionFinished, ExecutionStarted
from langgraph_execution_monitor.rows import TextCleaner, batch_columns
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
    columns, unconvertible = batch_columns(list(events), TextCleaner(65_536))
    assert not unconvertible
    written, _ = await queries.log_batch_v3(db, columns)
    return written
