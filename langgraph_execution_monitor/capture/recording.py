"""The state of a monitored run while it runs, and the trace entries it collects.

Two context variables say which run the code belongs to and which node (or task, or
tool) runs now. LangGraph runs each task in an asyncio task (or a thread) that copies
the context, so both reach every node of every graph that runs inside the run,
subgraphs and graphs built at run time included, and the tools those nodes call.
A frame records one execution (one attempt of a node, one task call, one tool call);
its entry is appended to the run's trace when it ends.

Most nodes are followed without a frame of their own while they run (see `compat`):
the runner's hook keeps a small record (`compat._follow`) and LangGraph's commit of the
task ends it (`record_task`), with no wrapper, coroutine layer or context variable
around the node. A frame for such a task is made only when something inside it needs
one (an error reported, an LLM call, a tool, a nested graph): it is found through
LangGraph's own config of the code running now (`var_child_runnable_config`, whose
``__pregel_task_id`` names the task). `current_frame` holds the frames that do set a
context variable (tools, and the nodes followed by a wrapper: retries, timeouts,
functional tasks); `innermost` picks the deeper of the two.

Outcome rules for an entry:

- It raised: ``failed`` (its error is str(exc), the exception type when empty), unless
  it is LangGraph control flow: ``interrupt()`` is ``interrupted``,
  ``Command(graph=PARENT)`` is ``completed``.
- Node code that catches an error and calls `report_node_error`: ``failed``, with the
  first reported error, while the run goes on.
- A sibling LangGraph cancels because another task failed: ``cancelled`` (a node that
  raises ``CancelledError`` itself is a failure).
- A tool whose error ``ToolNode`` turned into an error message: ``failed``.
- RetryPolicy: each attempt is an entry; an attempt that failed and was followed by a
  retry of the same task (or of an enclosing one) is not a failure of the run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextvars import ContextVar
from functools import partial
from typing import Any

from langchain_core.runnables.config import var_child_runnable_config

from langgraph_execution_monitor.events import LLMCall, TaskWrites, TraceEntry

logger = logging.getLogger("langgraph_execution_monitor.capture")

_new_entry = partial(tuple.__new__, TraceEntry)


def error_message(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error
    try:
        return str(error) or type(error).__name__
    except Exception:  # a __str__ that raises
        return type(error).__name__


class Run:
    """Mutable state of one monitored run; lives only in the context of that run."""

    __slots__ = (
        "closed",
        "conversation_id",
        "execution_id",
        "failures",
        "input",
        "interrupted",
        "llm_calls",
        "notes",
        "offset",
        "request",
        "slot",
        "t0_perf",
        "t0_wall",
        "tasks",
        "trace",
        "user_id",
    )

    def __init__(
        self,
        execution_id: str,
        user_id: str,
        conversation_id: str | None,
        request: Any,
        input: Any,
    ) -> None:
        self.execution_id = execution_id
        self.user_id = user_id
        self.conversation_id = conversation_id
        self.request = request
        self.input = input
        self.t0_wall = time.time()
        self.t0_perf = time.perf_counter()
        self.offset = self.t0_wall - self.t0_perf  # perf_counter reading -> time.time()
        self.trace: list[TraceEntry] = []
        # LangGraph task id -> the record of a task followed without a frame, while it
        # runs (see _following).
        self.tasks: dict[str, list[Any]] = {}
        # [task ids of the frame and its ancestors, name, error, superseded, exception,
        # kind]: superseded once a retry of any of those tasks starts (or when the
        # failure only passes on a @task's).
        self.failures: list[list[Any]] = []
        self.interrupted = False
        self.llm_calls: list[LLMCall] | None = None  # calls made outside any node
        self.notes: list[str] | None = None  # refused identifiers, for the error summary
        self.slot: Any = None  # where `arun` wants the finish event
        # Set when the finish event is built: a late entry (a sibling whose cancellation
        # lands after the run raised) must not change a trace handed to the sink.
        self.closed = False


class Frame:
    """One execution in progress. `enter` makes it the current frame (in the context
    of its task); `record_end` makes the previous one current again."""

    __slots__ = (
        "attempt",
        "branch",
        "ended",
        "error",
        "kind",
        "llm_calls",
        "name",
        "parent",
        "parent_path",
        "path",
        "run",
        "start",
        "step",
        "task_id",
        "token",
    )

    def __init__(
        self,
        run: Run,
        name: str,
        config: Any,
        kind: str = "node",
        task_id: str | None = None,
        branch: Any = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.task_id = task_id
        self.branch = branch
        self.enter(run, config)

    def place(self, parent: Frame | None) -> None:
        """Nest this frame under `parent` (None: at the top of its run)."""
        if parent is None or parent is self:
            self.parent = self.parent_path = None
            self.path = self.name
        else:
            self.parent = parent
            self.parent_path = parent.path
            self.path = f"{parent.path}/{self.name}"

    def enter(self, run: Run, config: Any) -> None:
        """Start (another attempt of) this execution."""
        self.run = run
        self.place(innermost(run))
        self.error = None
        self.llm_calls = None
        self.ended = False
        meta = config.get("metadata") if config else None
        self.step = meta.get("langgraph_step") if meta else None
        self.attempt = 1
        self.token = current_frame.set(self)
        self.start = time.perf_counter()


current_run: ContextVar[Run | None] = ContextVar("execution_monitor_run", default=None)
current_frame: ContextVar[Frame | None] = ContextVar("execution_monitor_node", default=None)

TASK_ID_KEY = "__pregel_task_id"  # LangGraph's CONFIG_KEY_TASK_ID (checked by compat)
PUSH = "__pregel_push"  # LangGraph's PUSH: the first element of a Send's task path
START = "__start__"  # LangGraph's input task: not a node of the user's

# A followed task's record (made by the runner's hook, `compat._follow`): [task, run,
# start, current_frame then, LangGraph's config then (whose task id names the
# enclosing task), its frame once one is made].
# Keyed by id(task) until LangGraph commits the task: the commit can run where no
# context variable of the run is set (a worker thread's done callback).
_following: dict[int, list[Any]] = {}


def _config_frame(run: Run, config: Any) -> Frame | None:
    """The frame of the followed task that this LangGraph config belongs to."""
    if not config:
        return None
    configurable = config.get("configurable")
    task_id = configurable.get(TASK_ID_KEY) if configurable else None
    record = run.tasks.get(task_id) if task_id is not None else None
    return None if record is None else _frame_of(record)


def _deeper(run: Run, frame: Frame | None, task_frame: Frame | None) -> Frame | None:
    """Of the context variable's frame and the frame of LangGraph's current task, the
    one nested inside the other (a tool runs inside its node; a node of a graph that a
    tool runs is inside the tool)."""
    if frame is not None and (frame.run is not run or frame.ended):
        frame = None
    if task_frame is None:
        return frame
    ancestor = frame
    while ancestor is not None:
        if ancestor is task_frame:
            return frame
        ancestor = ancestor.parent
    return task_frame


def innermost(run: Run) -> Frame | None:
    """The frame of the code running now in this run (None outside any node)."""
    return _deeper(run, current_frame.get(), _config_frame(run, var_child_runnable_config.get()))


def _frame_of(record: list[Any]) -> Frame:
    """The frame of a followed task, made when first needed."""
    frame = record[5]
    if frame is not None:
        return frame
    task, run = record[0], record[1]
    frame = Frame.__new__(Frame)
    frame.name = task.name
    frame.kind = "node"
    frame.task_id = task.id
    frame.branch = _branch(task.path)
    meta = task.config.get("metadata")
    frame.step = meta.get("langgraph_step") if meta else None
    frame.run = run
    frame.start = record[2]
    frame.attempt = 1
    frame.error = frame.llm_calls = frame.token = None
    frame.ended = False
    record[5] = frame  # before the parent: a cycle cannot recurse
    frame.place(_deeper(run, record[3], _config_frame(run, record[4])))
    return frame


def _branch(path: Any) -> Any:
    # (PUSH, index of the Send, ...): which branch of a fan-out the task is.
    if path and path[0] == PUSH and len(path) > 1 and path[1].__class__ is int:
        return path[1]
    return None


def record_task(task: Any, exception: BaseException | None, end: float) -> None:
    """LangGraph committed a followed task: its entry, from the task's writes or the
    exception it ended with."""
    record = _following.pop(id(task), None)
    if record is None or record[0] is not task:
        return
    run = record[1]
    run.tasks.pop(task.id, None)
    if run.closed:
        return
    try:
        if exception is None and record[5] is None and record[3] is None and record[4] is None:
            # The usual case: a top-level node that completed, nothing inside it seen.
            meta = task.config.get("metadata")
            run.trace.append(
                _new_entry(
                    (
                        task.name,
                        "completed",
                        record[2],
                        end,
                        run.offset,
                        None,
                        meta.get("langgraph_step") if meta else None,
                        None,
                        1,
                        "node",
                        task.id,
                        _branch(path) if (path := task.path)[0] == PUSH else None,
                        TaskWrites(task.writes),
                        None,
                        None,
                        False,
                    )
                )
            )
            return
        frame = _frame_of(record)
        frame.ended = True
        if exception is None:
            _append(frame, run, None, TaskWrites(task.writes), None, end)
        elif isinstance(exception, asyncio.CancelledError):
            # LangGraph cancelled it (a sibling failed, or the run was stopped); a node
            # that raises CancelledError itself reaches the commit as NodeCancelledError.
            _append(frame, run, exception, None, "cancelled", end)
        else:
            _append(frame, run, exception, None, None, end)
    except Exception:
        logger.exception("execution monitor: failed to record the end of %r", task.name)


def abandon_tasks(run: Run) -> None:
    """The run ends with tasks LangGraph never committed (the caller stopped it
    mid-step): each is a cancelled entry, and nothing of them is kept."""
    if not run.tasks:
        return
    end = time.perf_counter()
    for record in list(run.tasks.values()):
        task = record[0]
        if _following.get(id(task)) is record:
            del _following[id(task)]
        try:
            frame = _frame_of(record)
            frame.ended = True
            _append(frame, run, None, None, "cancelled", end)
        except Exception:
            logger.exception("execution monitor: failed to record the end of %r", task.name)
    run.tasks.clear()


def task_chain(frame: Frame | None) -> tuple[Any, ...]:
    chain = []
    while frame is not None:
        chain.append(frame.task_id)
        frame = frame.parent
    return tuple(chain)


def supersede(run: Run, task_id: str) -> None:
    """A retry of a task starts: failures inside its earlier attempts were not the
    task's last word (if the retry fails too, that failure is recorded afresh)."""
    for failure in run.failures:
        if task_id in failure[0]:
            failure[3] = True


def cancelled_from_outside() -> bool:
    task = asyncio.current_task()
    # cancelling() > 0: someone (LangGraph, after a sibling failed, or the caller)
    # asked this task to stop. 0: the body raised CancelledError itself.
    return task is None or task.cancelling() > 0


def record_end(
    frame: Frame, exc: BaseException | None, output: Any, status: str | None = None
) -> None:
    """Append the frame's entry to its run's trace (once)."""
    end = time.perf_counter()
    try:
        current_frame.reset(frame.token)
    except ValueError:
        # Reset from another context (an iterator finished elsewhere): nothing leaks,
        # since that other context never saw our value.
        pass
    run = frame.run
    if frame.ended or run.closed:
        return
    frame.ended = True
    try:
        if exc is None and status is None and frame.error is None:  # the common case
            run.trace.append(
                _new_entry(
                    (
                        frame.name,
                        "completed",
                        frame.start,
                        end,
                        run.offset,
                        None,
                        frame.step,
                        frame.parent_path,
                        frame.attempt,
                        frame.kind,
                        frame.task_id,
                        frame.branch,
                        output,
                        None,
                        frame.llm_calls,
                        False,
                    )
                )
            )
        else:
            _append(frame, run, exc, output, status, end)
    except Exception:
        logger.exception("execution monitor: failed to record the end of %r", frame.name)


def _append(
    frame: Frame, run: Run, exc: BaseException | None, output: Any, status: str | None, end: float
) -> None:
    error = frame.error
    if status is None:
        if exc is None:
            status = "completed" if error is None else "failed"
        elif is_control_flow(exc):
            if type(exc).__name__ == "ParentCommand":
                status = "completed" if error is None else "failed"
            else:
                status = "interrupted"
                run.interrupted = True
        elif isinstance(exc, asyncio.CancelledError) and cancelled_from_outside():
            status = "cancelled"
        else:
            status = "failed"
    if status == "failed":
        if error is None:
            error = error_message(exc) if exc is not None else "failed"
        # A functional entrypoint that fails because a @task it awaited failed: the
        # task is the failed node (the entrypoint's entry still shows the failure).
        propagated = exc is not None and any(
            failure[4] is exc and failure[5] == "task" for failure in run.failures
        )
        run.failures.append([task_chain(frame), frame.name, error, propagated, exc, frame.kind])
    else:
        error = None
        exc = None
    run.trace.append(
        _new_entry(
            (
                frame.name,
                status,
                frame.start,
                end,
                run.offset,
                error,
                frame.step,
                frame.parent_path,
                frame.attempt,
                frame.kind,
                frame.task_id,
                frame.branch,
                output if status == "completed" else None,
                exc,
                frame.llm_calls,
                False,
            )
        )
    )


def record_cached(run: Run, name: str, config: Any, task_id: str, output: Any) -> None:
    """A task whose writes came from its CachePolicy's cache: an entry marked cached."""
    now = time.perf_counter()
    parent = innermost(run)
    step = (config.get("metadata") or {}).get("langgraph_step") if config else None
    run.trace.append(
        _new_entry(
            (
                name,
                "completed",
                now,
                now,
                run.offset,
                None,
                step,
                None if parent is None else parent.path,
                1,
                "node",
                task_id,
                None,
                output,
                None,
                None,
                True,
            )
        )
    )


_CONTROL_FLOW: tuple[type[BaseException], ...] = ()


def is_control_flow(exc: BaseException) -> bool:
    global _CONTROL_FLOW
    if not _CONTROL_FLOW:
        from langgraph.errors import GraphBubbleUp

        _CONTROL_FLOW = (GraphBubbleUp,)
    return isinstance(exc, _CONTROL_FLOW)


def report_node_error(error: BaseException | str) -> None:
    """Mark the node that is running now as failed, while the run goes on.

    Call it where node code catches an error and carries on (a fallback, a skipped
    platform): the node's trace entry becomes ``failed`` with this error (the first one
    reported wins), its name goes to ``failed_nodes``, and a run that still answers is
    ``partial``. Outside a monitored run it does nothing, and it never raises.
    """
    try:
        run = current_run.get()
        frame = None if run is None else innermost(run)
        if frame is not None and frame.error is None:
            frame.error = error_message(error)
    except Exception:
        logger.exception("execution monitor: report_node_error failed")


def current_execution_id() -> str | None:
    """The id of the monitored run this code runs in (inside a node), else None."""
    run = current_run.get()
    return None if run is None else run.execution_id


def record_llm_call(call: LLMCall) -> None:
    """A chat-model call: kept on the frame it ran in (or the run, outside nodes)."""
    run = current_run.get()
    if run is None or run.closed:
        return
    frame = innermost(run)
    if frame is not None:
        if frame.llm_calls is None:
            frame.llm_calls = []
        frame.llm_calls.append(call)
    else:
        if run.llm_calls is None:
            run.llm_calls = []
        run.llm_calls.append(call)
