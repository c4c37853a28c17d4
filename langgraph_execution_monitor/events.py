"""The records the hot path puts on the monitor's queue.

They are plain tuples: cheap to build (well under a microsecond), no copying, no
serialising. Timestamps are `time.time()` floats (a trace entry's are raw
``perf_counter`` readings with the offset to convert them); the background writer
converts them, cleans text and serialises the trace.
"""

from typing import Any, NamedTuple


class ExecutionStarted(NamedTuple):
    execution_id: str
    conversation_id: str | None
    user_id: str
    request_message: str
    started_at: float


class TraceEntry(NamedTuple):
    """One node execution, as the monitor records it: a tuple of what it already
    holds, with no arithmetic (in a run, building the stored dict cost ~0.7 us per
    node). `as_dict` gives the stored format."""

    node: str
    status: str  # completed | failed | cancelled | interrupted
    start: float  # perf_counter() when the node started
    end: float  # perf_counter() when it ended
    clock: float  # time.time() - perf_counter() for this run: start + clock is wall time
    error: str | None  # set when failed
    step: int | None  # langgraph_step
    parent: str | None  # path of the enclosing node ("outer/inner"), None at top level
    attempt: int  # 1, 2, ... under a RetryPolicy

    def as_dict(self) -> dict[str, Any]:
        """The stored format: node, status, execution_time_ms (3 decimals), error
        (failed entries only), timestamp (when it ended) and started_at (time.time()
        floats; the writer turns them into ISO-8601), step, parent, attempt."""
        start, end, clock = self.start, self.end, self.clock
        milliseconds = int((end - start) * 1e6 + 0.5) / 1000.0
        if self.status == "failed":
            return {
                "node": self.node,
                "status": self.status,
                "execution_time_ms": milliseconds,
                "error": self.error,
                "timestamp": clock + end,
                "started_at": clock + start,
                "step": self.step,
                "parent": self.parent,
                "attempt": self.attempt,
            }
        return {
            "node": self.node,
            "status": self.status,
            "execution_time_ms": milliseconds,
            "timestamp": clock + end,
            "started_at": clock + start,
            "step": self.step,
            "parent": self.parent,
            "attempt": self.attempt,
        }


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
    # One entry per node execution, in the order they ended: a `TraceEntry` from
    # the monitor, or a dict already in the stored format (node, status,
    # execution_time_ms, error, timestamp, started_at, step, parent, attempt;
    # float timestamps), as tests and benchmarks build them. `trace_dicts` gives
    # them all as dicts; the writer turns float timestamps into ISO-8601 strings.
    execution_trace: list[TraceEntry | dict[str, Any]]
    failed_nodes: list[str]
    error_summary: str | None

    def trace_dicts(self) -> list[dict[str, Any]]:
        """The trace in the stored format (with float timestamps)."""
        return [
            entry.as_dict() if isinstance(entry, TraceEntry) else entry
            for entry in self.execution_trace
        ]


ExecutionEvent = ExecutionStarted | ExecutionFinished
