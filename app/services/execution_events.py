"""The records the hot path puts on the monitor's queue.

They are plain tuples: cheap to build (well under a microsecond), no copying, no
serialising. Timestamps are `time.time()` floats; the background writer converts
them, cleans text and serialises the trace.
"""

from typing import Any, NamedTuple


class ExecutionStarted(NamedTuple):
    execution_id: str
    conversation_id: str | None
    user_id: str
    request_message: str
    started_at: float


class ExecutionFinished(NamedTuple):
    """A finished run. It repeats the start's fields so that a finish that
    arrives before (or without) its start still makes a complete row."""

    execution_id: str
    conversation_id: str | None
    user_id: str
    request_message: str
    started_at: float
    completed_at: float
    status: str  # completed | partial | failed
    response_message: str | None
    # One dict per node execution: node, status, execution_time_ms, error,
    # timestamp (float, when the node ended), started_at (float), step, parent,
    # attempt. The writer turns float timestamps into ISO-8601 strings.
    execution_trace: list[dict[str, Any]]
    failed_nodes: list[str]
    error_summary: str | None


ExecutionEvent = ExecutionStarted | ExecutionFinished
