"""The records the hot path puts on the monitor's queue.

They are plain tuples: cheap to build (well under a microsecond), no copying, no
serialising. They hold references to what the run produced (the input, the response
object, each node's output, the exception of a failure, the LLM messages) and the
background writer turns those into text and JSON (`serialize.py`), never the hot path.
Timestamps are `time.time()` floats (a trace entry's are raw ``perf_counter`` readings
with the offset to convert them).
"""

from typing import Any, NamedTuple


class LLMCall(NamedTuple):
    """One chat-model call inside a node or tool: the writer reads the tokens from
    ``message.usage_metadata`` and the model from ``response_metadata``."""

    model: str | None  # the model's own name for itself, when it has one
    message: Any  # the AIMessage (or None when the call raised)
    start: float  # perf_counter()
    end: float
    error: BaseException | None


class TaskWrites(tuple):  # type: ignore[type-arg]
    """A task's writes as LangGraph committed them, ``(channel, value)`` pairs, kept as
    a node's output: copied in C on the hot path; the writer makes them the node's
    update (`serialize.entry_dicts`)."""

    __slots__ = ()


class ExecutionStarted(NamedTuple):
    execution_id: str
    conversation_id: str | None
    user_id: str
    request_message: Any  # text, or the object it is read from (see serialize.request_text)
    started_at: float
    input: Any = None  # the run's input as given (stored as capped JSON)


class TraceEntry(NamedTuple):
    """One node, task or tool execution, as the monitor records it: a tuple of what it
    already holds, with no arithmetic. The writer gives the stored format."""

    node: str
    status: str  # completed | failed | cancelled | interrupted
    start: float  # perf_counter() when it started
    end: float  # perf_counter() when it ended
    clock: float  # time.time() - perf_counter() for this run: start + clock is wall time
    error: str | None  # set when failed
    step: int | None  # langgraph_step
    parent: str | None  # path of the enclosing node ("outer/inner"), None at top level
    attempt: int  # 1, 2, ... under a RetryPolicy
    kind: str = "node"  # node | task (functional API) | tool
    task_id: str | None = None  # LangGraph's task id: tells two Send branches apart
    branch: Any = None  # the Send index of a fanned-out task, a tool call's id
    output: Any = None  # the node's update / the task's or tool's result
    exception: BaseException | None = None  # what it raised (type and traceback)
    llm_calls: list[LLMCall] | None = None  # chat-model calls made directly inside it
    cached: bool = False  # a CachePolicy hit: it did not run


class ExecutionFinished(NamedTuple):
    """A finished run. It repeats the start's fields so that a finish that
    arrives before (or without) its start still makes a complete row."""

    execution_id: str
    conversation_id: str | None
    user_id: str
    request_message: Any
    started_at: float
    completed_at: float
    status: str  # completed | partial | failed | interrupted
    response_message: Any  # text, or the object it is read from (serialize.response_text)
    # One entry per node execution, in the order they ended: a `TraceEntry` from
    # the monitor, or a dict already in the stored format (node, status,
    # execution_time_ms, error, timestamp, started_at, step, parent, attempt;
    # float timestamps), as tests and benchmarks build them.
    execution_trace: list[TraceEntry | dict[str, Any]]
    failed_nodes: list[str]
    error_summary: str | None
    input: Any = None

    def trace_dicts(self) -> list[dict[str, Any]]:
        """The trace in the stored format (with float timestamps)."""
        from langgraph_execution_monitor.serialize import entry_dict, plain

        return [
            plain(entry_dict(entry)) if isinstance(entry, TraceEntry) else entry
            for entry in self.execution_trace
        ]


ExecutionEvent = ExecutionStarted | ExecutionFinished
