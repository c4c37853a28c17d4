"""Capture side of the execution monitor: what ran, in which order, how long, what failed.

Why it exists: every graph run must leave one row in ``execution_logs`` with a trace the
dashboard can draw as a tree, without slowing the request. This module only *captures*;
it hands two small records per run (`ExecutionStarted`, `ExecutionFinished`) to a sink
(in production the background writer's non-blocking ``enqueue``) and never waits for it.

Usage (one line per graph, once)::

    monitor = ExecutionMonitor(emit=writer.enqueue)          # tests: emit=events.append
    graph = monitor.instrument(build_graph(), response_of=lambda s: s.get("response"))

    execution_id = new_execution_id()                         # optional; default: a new one
    result = await graph.ainvoke(state, config, user_id="u1", conversation_id="c1",
                                 request_message="hi", execution_id=execution_id)
    async for chunk in graph.astream(state, config, user_id="u1", execution_id=...):
        ...

``ainvoke`` returns exactly what the graph returns and ``astream`` yields exactly the
graph's chunks; any other argument is passed through to the graph, and everything else
(``get_state``, ``nodes``, ...) is delegated to it. A caller that must answer with the
run's id (the chat endpoint) creates it with `new_execution_id()` and passes it in.

How: the compiled graph's node runnables (``graph.nodes[name].node``, the runnable each
LangGraph task invokes) are wrapped in place, recursively into every compiled subgraph a
node uses. A wrapper costs one context-variable read when no monitored run is active, and
a couple of microseconds when one is. LangGraph runs each node in an asyncio task that
copies the context, so two context variables tell a wrapper which run it belongs to and
which node (if any) it runs inside: that gives ``parent`` for subgraph nodes and lets
node code call `report_node_error` without passing anything around. Callbacks were
measured 3-10x dearer and ``stream_mode="debug"`` loses retries and cancelled tasks.

Trace entry (one per node execution, appended when the node ends): a `TraceEntry` tuple
of raw ``perf_counter`` readings, which the writer (or ``ExecutionFinished.trace_dicts()``)
turns into the stored format::

    {"node": "data_checker", "status": "completed" | "failed" | "cancelled" | "interrupted",
     "execution_time_ms": 0.123, "error": "...",   # "error" only when failed
     "timestamp": <time.time() when it ended>, "started_at": <time.time() when it started>,
     "step": <langgraph_step>, "parent": None | "outer" | "outer/inner", "attempt": 1}

``step`` is the superstep within the graph the node belongs to (a subgraph counts its
own steps from 1); ``parent`` is the path of the enclosing node for nodes of a compiled
subgraph (used as a node or called from a node), None at top level.

Outcome rules:

- A node that raises is ``failed``; its error is str(exc) (the exception type when that
  is empty). A node that catches an error and calls `report_node_error` is ``failed``
  too, with the first reported error, while the run goes on.
- A sibling that LangGraph cancels because another task failed is ``cancelled``. A node
  that raises ``CancelledError`` itself is a failure (LangGraph reports it as one too).
- ``interrupt()`` and other ``GraphBubbleUp`` control flow: ``interrupted``;
  ``Command(graph=Command.PARENT)`` (``ParentCommand``): ``completed``. Neither is a failure.
- RetryPolicy: each attempt is an entry (``attempt`` 1, 2, ...). An attempt that failed
  and was followed by a retry is kept in the trace as ``failed`` but is not a failed node
  of the run: a recovered retry leaves the run ``completed``.
- A subgraph node fails when its child fails: both are failed entries and both names go
  to ``failed_nodes`` (child first), since both really ended with that error. A retry
  of a subgraph node that recovers clears its children's earlier failures as well.

Run status: ``failed`` when the run raised (``error_summary``: the first failed node's
error, else the raised exception's) or produced no response (``response_of`` gave None
or an empty value); ``partial`` when it answered but a node failed; ``completed``
otherwise. A run stopped by ``interrupt()`` is waiting for a human, not failing: it is
``completed`` (or ``partial``) whatever its response. ``failed_nodes`` holds unique
names in order of failure; ``error_summary`` is the first (root) error.

Response: ``response_of`` is applied to the final state (for ``version="v2"`` outputs, to
their ``.value``). ``astream`` needs that state without changing what the caller sees: if
the caller's stream modes lack ``"values"``, it is added to the modes asked of LangGraph
and its chunks are filtered out again, with the caller's chunk shapes restored (this is
what ``ainvoke`` itself does inside LangGraph; it costs LangGraph a values snapshot per
step, measured at about 35 us per 5-node run). A caller that stops iterating before the
end makes the run ``failed`` ("stream closed before the run finished").

Safety: emitting never raises into the caller (a failing sink is logged and swallowed);
a bug in this module is logged, never raised into the request; the graph's own exception
object is re-raised unchanged. Instrumenting is idempotent: nodes already wrapped are
left alone, so a graph (or a subgraph shared by graphs) is wrapped once.

Cost: no uuid4 per node, no datetime, no copying, no logging on the happy path; clocks
are ``perf_counter`` per node anchored to one ``time.time()`` per run. The node wrapper's
``ainvoke`` and `MonitoredGraph.ainvoke` are written out flat (no helper calls, no extra
coroutine layer), since in a run each call and each float operation costs several times
what it costs in a micro-benchmark. Measured on a 5-node trivial async graph (~850 us per
run here, ``bench/overhead.py``): ``ainvoke`` +22 us, ``astream`` +70 us.

`current_execution_id()` gives node code the id of the run it belongs to.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import aclosing
from contextvars import ContextVar
from functools import partial
from typing import Any, NamedTuple

from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.constants import START
from langgraph.errors import GraphBubbleUp, ParentCommand
from langgraph.pregel import Pregel

from langgraph_execution_monitor.events import (
    ExecutionEvent,
    ExecutionFinished,
    ExecutionStarted,
    TraceEntry,
)

__all__ = [
    "ExecutionMonitor",
    "MonitoredGraph",
    "current_execution_id",
    "new_execution_id",
    "report_node_error",
]

logger = logging.getLogger(__name__)

Emit = Callable[[ExecutionEvent], object]  # a return value (enqueue: bool) is ignored
ResponseOf = Callable[[Any], Any]

_RUNTIME_KEY = "__pregel_runtime"  # langgraph._internal._constants.CONFIG_KEY_RUNTIME
_TASK_ID_KEY = "__pregel_task_id"  # langgraph._internal._constants.CONFIG_KEY_TASK_ID
_INTERRUPT_KEY = "__interrupt__"
_NO_RESPONSE = "run produced no response"
_STREAM_CLOSED = "stream closed before the run finished"

# A private generator: execution ids are not secrets, and uuid4() costs ~2 us against
# ~0.5 us here. Reseeded after fork so that worker processes never share a sequence,
# and private so that a caller's random.seed() cannot make ids repeat.
_rng = random.Random(int.from_bytes(os.urandom(16), "big"))
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _rng.seed(int.from_bytes(os.urandom(16), "big")))
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def new_execution_id() -> str:
    """A random RFC 4122 version-4 UUID string (36 characters), made cheaply."""
    h = ((_rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET).to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _error_message(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error
    return str(error) or type(error).__name__


class _Run:
    """Mutable state of one monitored run; lives only in the context of that run."""

    __slots__ = (
        "closed",
        "conversation_id",
        "execution_id",
        "failures",
        "interrupted",
        "offset",
        "request_message",
        "t0_perf",
        "t0_wall",
        "trace",
        "user_id",
    )

    def __init__(
        self,
        execution_id: str,
        user_id: str = "anonymous",
        conversation_id: str | None = None,
        request_message: str = "",
    ) -> None:
        self.execution_id = execution_id
        self.user_id = user_id
        self.conversation_id = conversation_id
        self.request_message = request_message
        self.t0_wall = time.time()
        self.t0_perf = time.perf_counter()
        self.offset = self.t0_wall - self.t0_perf  # perf_counter reading -> time.time()
        self.trace: list[TraceEntry | dict[str, Any]] = []
        # [task ids of the node and its ancestors, node, error, superseded]: superseded
        # once a retry of any of those tasks starts (a retried subgraph node retries
        # its children too).
        self.failures: list[list[Any]] = []
        self.interrupted = False
        # Set when the finish event is built: a late node (a sibling whose cancellation
        # lands after the run raised) must not mutate a trace already handed to the sink.
        self.closed = False


class _Frame:
    """One node execution in progress. Creating it makes it the current node (in the
    context of the node's task); `_end` makes the previous one current again."""

    __slots__ = (
        "attempt",
        "config",
        "error",
        "name",
        "parent",
        "parent_path",
        "path",
        "run",
        "start",
        "step",
        "token",
    )

    def __init__(self, run: _Run, name: str, config: Any) -> None:
        self.run = run
        self.name = name
        parent = _current_frame.get()
        # The parent frame only counts when it belongs to the same run: a node may call
        # another monitored graph, whose nodes are top level in their own run.
        if parent is None or parent.run is not run:
            self.parent = self.parent_path = None
            self.path = name
        else:
            self.parent = parent
            self.parent_path = parent.path
            self.path = f"{parent.path}/{name}"
        self.config = config
        self.error: str | None = None
        step = None
        attempt = 1
        if config:
            meta = config.get("metadata")
            if meta:
                step = meta.get("langgraph_step")
            configurable = config.get("configurable")
            if configurable:
                info = getattr(configurable.get(_RUNTIME_KEY), "execution_info", None)
                if info is not None:
                    attempt = info.node_attempt
                    if attempt > 1 and run.failures:
                        _supersede(run, configurable)
        self.step = step
        self.attempt = attempt
        self.token = _current_frame.set(self)
        self.start = time.perf_counter()


_current_run: ContextVar[_Run | None] = ContextVar("execution_monitor_run", default=None)
_current_frame: ContextVar[_Frame | None] = ContextVar("execution_monitor_node", default=None)


def _task_id(frame: _Frame) -> Any:
    configurable = frame.config.get("configurable") if frame.config else None
    return configurable.get(_TASK_ID_KEY) if configurable else None


def _task_chain(frame: _Frame | None) -> tuple[Any, ...]:
    chain = []
    while frame is not None:
        chain.append(_task_id(frame))
        frame = frame.parent
    return tuple(chain)


def _supersede(run: _Run, configurable: Mapping[str, Any] | None) -> None:
    """A retry of a task starts: failures inside its earlier attempts were not the
    task's last word (if the retry fails too, that failure is recorded afresh)."""
    task_id = configurable.get(_TASK_ID_KEY) if configurable else None
    if task_id is None:
        return
    for failure in run.failures:
        if task_id in failure[0]:
            failure[3] = True


def _end_frame(frame: _Frame, exc: BaseException | None) -> None:
    end = time.perf_counter()
    run = frame.run
    if run.closed:
        return
    error = frame.error
    if exc is None and error is None:  # the common case first
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
                )
            )
        )
        return
    if exc is None:
        status = "failed"
    elif isinstance(exc, GraphBubbleUp):
        if isinstance(exc, ParentCommand):
            status = "completed" if error is None else "failed"
        else:
            status = "interrupted"
            run.interrupted = True
    elif isinstance(exc, asyncio.CancelledError) and _cancelled_from_outside():
        status = "cancelled"
    else:
        status = "failed"
        if error is None:
            error = _error_message(exc)
    if status == "failed":
        run.failures.append([_task_chain(frame), frame.name, error, False])
    else:
        error = None
    run.trace.append(
        TraceEntry(
            frame.name,
            status,
            frame.start,
            end,
            run.offset,
            error,
            frame.step,
            frame.parent_path,
            frame.attempt,
        )
    )


def _cancelled_from_outside() -> bool:
    task = asyncio.current_task()
    # cancelling() > 0: someone (LangGraph, after a sibling failed, or the caller)
    # asked this task to stop. 0: the node body raised CancelledError itself.
    return task is None or task.cancelling() > 0


def _begin(name: str, config: Any) -> _Frame | None:
    """Start recording a node; None when no monitored run is active or on a monitor bug."""
    run = _current_run.get()
    if run is None:
        return None
    try:
        return _Frame(run, name, config)
    except Exception:
        logger.exception("execution monitor: failed to record the start of node %r", name)
        return None


def _end(frame: _Frame, exc: BaseException | None) -> None:
    try:
        _current_frame.reset(frame.token)
    except ValueError:
        # Reset from another context (an iterator finished elsewhere): nothing leaks,
        # since that other context never saw our value.
        pass
    try:
        _end_frame(frame, exc)
    except Exception:
        logger.exception("execution monitor: failed to record the end of node %r", frame.name)


def report_node_error(error: BaseException | str) -> None:
    """Mark the node that is running now as failed, while the run goes on.

    Call it where node code catches an error and carries on (a fallback, a skipped
    platform): the node's trace entry becomes ``failed`` with this error (the first one
    reported wins), its name goes to ``failed_nodes``, and a run that still answers is
    ``partial``. Outside a monitored run it does nothing, and it never raises.
    """
    try:
        frame = _current_frame.get()
        if frame is not None and frame.error is None:
            frame.error = _error_message(error)
    except Exception:
        logger.exception("execution monitor: report_node_error failed")


def current_execution_id() -> str | None:
    """The id of the monitored run this code runs in (inside a node), else None."""
    run = _current_run.get()
    return None if run is None else run.execution_id


class _MonitoredNode(Runnable[Any, Any]):
    """Wraps the runnable LangGraph invokes for a node's task (``PregelNode.node``).

    It stands between LangGraph and the node's own runnable: same input, same config,
    same result or exception; it only notes the start and the end.
    """

    def __init__(self, inner: Runnable[Any, Any], name: str) -> None:
        self.inner = inner
        self.node_name = name
        self.name = getattr(inner, "name", None) or name

    def __repr__(self) -> str:
        return f"_MonitoredNode({self.inner!r})"

    @property
    def config_specs(self) -> Any:
        return self.inner.config_specs

    def get_name(self, suffix: str | None = None, *, name: str | None = None) -> str:
        return self.inner.get_name(suffix, name=name)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        frame = _begin(self.node_name, config)
        if frame is None:
            return self.inner.invoke(input, config, **kwargs)
        try:
            result = self.inner.invoke(input, config, **kwargs)
        except BaseException as exc:
            _end(frame, exc)
            raise
        _end(frame, None)
        return result

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        # The path every async node takes, so `_begin` and `_end` are written out here.
        run = _current_run.get()
        if run is None:
            return await self.inner.ainvoke(input, config, **kwargs)
        try:
            frame = _Frame(run, self.node_name, config)
        except Exception:
            logger.exception(
                "execution monitor: failed to record the start of node %r", self.node_name
            )
            return await self.inner.ainvoke(input, config, **kwargs)
        try:
            # LangGraph passes no keyword arguments: spare it the ** unpacking.
            if kwargs:
                result = await self.inner.ainvoke(input, config, **kwargs)
            else:
                result = await self.inner.ainvoke(input, config)
        except BaseException as exc:
            _end(frame, exc)
            raise
        # `_end(frame, None)`, inlined.
        try:
            _current_frame.reset(frame.token)
        except ValueError:
            pass
        try:
            _end_frame(frame, None)
        except Exception:
            logger.exception("execution monitor: failed to record the end of node %r", frame.name)
        return result

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        frame = _begin(self.node_name, config)
        if frame is None:
            yield from self.inner.stream(input, config, **kwargs)
            return
        try:
            yield from self.inner.stream(input, config, **kwargs)
        except BaseException as exc:
            _end(frame, exc)
            raise
        _end(frame, None)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        frame = _begin(self.node_name, config)
        if frame is None:
            async for chunk in self.inner.astream(input, config, **kwargs):
                yield chunk
            return
        try:
            async for chunk in self.inner.astream(input, config, **kwargs):
                yield chunk
        except BaseException as exc:
            _end(frame, exc)
            raise
        _end(frame, None)


def _instrument_nodes(graph: Any, seen: set[int]) -> None:
    """Wrap every node runnable of a compiled graph, recursing into its subgraphs."""
    if id(graph) in seen:
        return
    seen.add(id(graph))
    nodes = getattr(graph, "nodes", None)
    if not isinstance(nodes, Mapping):
        return
    for name, proc in nodes.items():
        if name == START:
            continue  # LangGraph's own input node, not a step of the user's graph
        runnable = getattr(proc, "node", None)  # cached_property: bound + channel writers
        if runnable is not None and not isinstance(runnable, _MonitoredNode):
            # Writing the instance dict replaces the cached value LangGraph reads for
            # every task of this node; `bound` stays untouched for introspection.
            proc.__dict__["node"] = _MonitoredNode(runnable, name)
        subgraphs = list(getattr(proc, "subgraphs", None) or ())
        bound = getattr(proc, "bound", None)
        if isinstance(bound, Pregel) and bound not in subgraphs:
            subgraphs.append(bound)  # checkpointer=False subgraphs are not listed
        for subgraph in subgraphs:
            _instrument_nodes(subgraph, seen)


def _default_response_of(state: Any) -> Any:
    if isinstance(state, Mapping):
        response = state.get("response")
        if response is None and (messages := state.get("messages")):
            last = messages[-1]
            response = getattr(last, "content", None)
        return response
    return getattr(state, "response", None)


def _request_message_of(input: Any) -> str:
    if isinstance(input, str):
        return input
    if input.__class__ is dict or isinstance(input, Mapping):  # the ABC check is dearer
        for key in ("message", "request_message", "input", "query", "question"):
            value = input.get(key)
            if isinstance(value, str):
                return value
        messages = input.get("messages")
        if messages and isinstance(messages, list):
            last = messages[-1]
            content = getattr(last, "content", None)
            if content is None and isinstance(last, Mapping):
                content = last.get("content")
            if content is None and isinstance(last, tuple) and len(last) == 2:
                content = last[1]
            if isinstance(content, str):
                return content
    return ""


class RunOutcome(NamedTuple):
    """What `MonitoredGraph.arun` returns."""

    result: Any  # the graph's output; None when it raised
    error: Exception | None  # what the graph raised, if it did
    finished: ExecutionFinished | None  # the recorded finish (None only if the monitor failed)


class MonitoredGraph:
    """A compiled graph whose ``ainvoke``/``astream`` runs are recorded.

    Everything not defined here is delegated to the compiled graph.
    """

    def __init__(self, graph: Any, monitor: ExecutionMonitor, response_of: ResponseOf) -> None:
        self.graph = graph
        self.monitor = monitor
        self.response_of = response_of

    def __getattr__(self, name: str) -> Any:
        return getattr(self.graph, name)

    async def ainvoke(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        user_id: str = "anonymous",
        conversation_id: str | None = None,
        request_message: str | None = None,
        execution_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the graph like ``graph.ainvoke``; returns (or raises) exactly what it does."""
        # `arun` written out again rather than awaited: every coroutine layer between
        # the caller and LangGraph is crossed at each of the ~13 suspensions of a run.
        monitor = self.monitor
        try:
            run = monitor._start(input, user_id, conversation_id, request_message, execution_id)
            tokens = (_current_run.set(run), _current_frame.set(None))
        except Exception:
            logger.exception("execution monitor: failed to start a run")
            return await self.graph.ainvoke(input, config, **kwargs)
        try:
            result = await self.graph.ainvoke(input, config, **kwargs)
        except BaseException as exc:
            _reset(tokens)
            monitor._finish(run, exc, None, False, self.response_of)
            raise
        _reset(tokens)
        monitor._finish(run, None, result, True, self.response_of)
        return result

    async def arun(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        user_id: str = "anonymous",
        conversation_id: str | None = None,
        request_message: str | None = None,
        execution_id: str | None = None,
        **kwargs: Any,
    ) -> RunOutcome:
        """Like `ainvoke`, but returns the run's outcome instead of raising: the
        result, the exception the graph raised (cancellation is still raised),
        and the finish event recorded (status, failed nodes, error summary), for
        callers that must answer in every case (the chat endpoint)."""
        monitor = self.monitor
        try:
            run = monitor._start(input, user_id, conversation_id, request_message, execution_id)
            tokens = (_current_run.set(run), _current_frame.set(None))
        except Exception:
            logger.exception("execution monitor: failed to start a run")
            try:
                return RunOutcome(await self.graph.ainvoke(input, config, **kwargs), None, None)
            except Exception as exc:
                return RunOutcome(None, exc, None)
        try:
            result = await self.graph.ainvoke(input, config, **kwargs)
        except BaseException as exc:
            _reset(tokens)
            finished = monitor._finish(run, exc, None, False, self.response_of)
            if not isinstance(exc, Exception):  # cancellation, KeyboardInterrupt: not ours
                raise
            return RunOutcome(None, exc, finished)
        _reset(tokens)
        finished = monitor._finish(run, None, result, True, self.response_of)
        return RunOutcome(result, None, finished)

    async def astream(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        user_id: str = "anonymous",
        conversation_id: str | None = None,
        request_message: str | None = None,
        execution_id: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Stream the graph like ``graph.astream``; yields exactly its chunks."""
        monitor = self.monitor
        try:
            run = monitor._start(input, user_id, conversation_id, request_message, execution_id)
            view = _StreamView(self.graph, kwargs)
        except Exception:
            logger.exception("execution monitor: failed to start a run")
            async for chunk in self.graph.astream(input, config, **kwargs):
                yield chunk
            return
        stream = self.graph.astream(input, config, **view.kwargs)
        exc: BaseException | None = None
        finished = False
        try:
            async with aclosing(stream):
                while True:
                    # The run's context variables are set only while LangGraph works
                    # (inside __anext__, where it creates the node tasks that copy
                    # them), so they never leak into the caller's code between chunks.
                    tokens = (_current_run.set(run), _current_frame.set(None))
                    try:
                        chunk = await stream.__anext__()
                    except StopAsyncIteration:
                        finished = True
                        break
                    finally:
                        _reset(tokens)
                    try:
                        keep = view.see(chunk)
                    except Exception:
                        logger.exception("execution monitor: failed to read a stream chunk")
                        view.broken = True
                        keep = view.passthrough(chunk)
                    if keep is not _DROP:
                        yield keep
        except GeneratorExit:
            exc = _StreamClosed(_STREAM_CLOSED)
            raise
        except BaseException as e:
            exc = e
            raise
        finally:
            if exc is None and not finished:
                exc = _StreamClosed(_STREAM_CLOSED)
            monitor._finish(run, exc, view.state, view.seen_state, self.response_of)


def _reset(tokens: tuple[Any, Any]) -> None:
    try:
        _current_frame.reset(tokens[1])
        _current_run.reset(tokens[0])
    except ValueError:
        pass


class _StreamClosed(Exception):
    """The caller stopped iterating before the run ended."""


_DROP = object()


class _StreamView:
    """Follows the final state through ``astream`` without changing the caller's chunks.

    ``"values"`` is added to the stream modes asked of LangGraph when the caller did not
    ask for it; its chunks are dropped again and the caller's chunk shape restored:
    v1 with one mode yields ``chunk`` (``(ns, chunk)`` with subgraphs), v1 with a list of
    modes ``(mode, chunk)`` (``(ns, mode, chunk)``), v2 dicts with ``type`` and ``ns``.
    """

    __slots__ = ("added", "broken", "kwargs", "seen_state", "single", "state", "subgraphs", "v2")

    def __init__(self, graph: Any, kwargs: dict[str, Any]) -> None:
        mode = kwargs.get("stream_mode")
        if mode is None:
            mode = getattr(graph, "stream_mode", "values")
        self.single = isinstance(mode, str)
        modes = [mode] if self.single else list(mode)
        self.subgraphs = bool(kwargs.get("subgraphs", False))
        self.v2 = kwargs.get("version", "v1") == "v2"
        self.added = "values" not in modes
        self.state: Any = None
        self.seen_state = False
        self.broken = False
        if self.added:
            kwargs = {**kwargs, "stream_mode": [*modes, "values"]}
        self.kwargs = kwargs

    def _track(self, ns: Any, payload: Any) -> None:
        if ns:
            return  # a subgraph's values, not the run's
        if isinstance(payload, Mapping) and _INTERRUPT_KEY in payload and len(payload) == 1:
            return  # v1 reports an interrupt as its own "values" chunk
        self.state = payload
        self.seen_state = True

    def see(self, chunk: Any) -> Any:
        if self.broken:
            return self.passthrough(chunk)
        if self.v2:
            if chunk.get("type") == "values":
                self._track(chunk.get("ns"), chunk.get("data"))
                if self.added:
                    return _DROP
            return chunk
        if not self.added:
            if self.single:
                if self.subgraphs:
                    self._track(chunk[0], chunk[1])
                else:
                    self._track((), chunk)
            elif self.subgraphs:
                if chunk[1] == "values":
                    self._track(chunk[0], chunk[2])
            elif chunk[0] == "values":
                self._track((), chunk[1])
            return chunk
        # "values" was added: the stream carries mode names the caller may not expect.
        if self.subgraphs:
            ns, mode, payload = chunk
            if mode == "values":
                self._track(ns, payload)
                return _DROP
            return (ns, payload) if self.single else chunk
        mode, payload = chunk
        if mode == "values":
            self._track((), payload)
            return _DROP
        return payload if self.single else chunk

    def passthrough(self, chunk: Any) -> Any:
        """Best effort after a bug: still drop what the caller did not ask for."""
        if not self.added:
            return chunk
        try:
            if self.v2:
                return _DROP if chunk.get("type") == "values" else chunk
            mode = chunk[1] if self.subgraphs else chunk[0]
            if mode == "values":
                return _DROP
            if self.single:
                return (chunk[0], chunk[2]) if self.subgraphs else chunk[1]
        except Exception:
            pass
        return chunk


class ExecutionMonitor:
    """Records graph runs and hands their start and finish to ``emit``.

    ``emit`` must be cheap and non-blocking (the writer's ``enqueue``); if it raises, the
    error is logged and the run goes on.
    """

    def __init__(self, emit: Emit) -> None:
        self._sink = emit

    def instrument(self, graph: Any, response_of: ResponseOf | None = None) -> MonitoredGraph:
        """Wrap a compiled graph's nodes (recursively, idempotently) and return a
        `MonitoredGraph` whose ``ainvoke``/``astream`` record runs to this monitor.

        ``response_of(final_state)`` gives the run's answer; by default the state's
        ``"response"`` key, else the content of its last message.
        """
        if isinstance(graph, MonitoredGraph):
            graph = graph.graph
        _instrument_nodes(graph, set())
        return MonitoredGraph(graph, self, response_of or _default_response_of)

    def emit(self, event: ExecutionEvent) -> None:
        """Hand an event to the sink; never raises."""
        try:
            self._sink(event)
        except Exception:
            _sink_failed(event)

    def _start(
        self,
        input: Any,
        user_id: str,
        conversation_id: str | None,
        request_message: str | None,
        execution_id: str | None,
    ) -> _Run:
        if request_message is None:
            request_message = _request_message_of(input)
        run = _Run(execution_id or new_execution_id(), user_id, conversation_id, request_message)
        event = _new_started(
            (run.execution_id, conversation_id, user_id, request_message, run.t0_wall)
        )
        try:  # `emit`, inlined: this runs twice per run
            self._sink(event)
        except Exception:
            _sink_failed(event)
        return run

    def _finish(
        self,
        run: _Run,
        exc: BaseException | None,
        result: Any,
        has_result: bool,
        response_of: ResponseOf,
    ) -> ExecutionFinished | None:
        try:
            event = _finished_event(run, exc, result, has_result, response_of)
        except Exception:
            logger.exception("execution monitor: failed to finish run %s", run.execution_id)
            return None
        try:
            self._sink(event)
        except Exception:
            _sink_failed(event)
        return event


def _sink_failed(event: ExecutionEvent) -> None:
    logger.exception(
        "execution monitor: sink failed for %s of %s", type(event).__name__, event.execution_id
    )


# The records' own constructors, without the Python-level ``__new__`` NamedTuple
# generates (which only packs its arguments into the tuple): half the cost.
_new_started = partial(tuple.__new__, ExecutionStarted)
_new_finished = partial(tuple.__new__, ExecutionFinished)
_new_entry = partial(tuple.__new__, TraceEntry)


def _finished_event(
    run: _Run,
    exc: BaseException | None,
    result: Any,
    has_result: bool,
    response_of: ResponseOf,
) -> ExecutionFinished:
    run.closed = True
    completed_at = run.t0_wall + (time.perf_counter() - run.t0_perf)
    failed_nodes: list[str] = []
    error_summary: str | None = None
    for _tasks, node, error, superseded in run.failures:
        if superseded:
            continue
        if error_summary is None:
            error_summary = error
        if node not in failed_nodes:
            failed_nodes.append(node)

    response: Any = None
    interrupted = run.interrupted or isinstance(exc, GraphBubbleUp)
    if has_result:
        if result.__class__ is dict:  # the usual output: no attributes to look for
            state = result
            if _INTERRUPT_KEY in result:
                interrupted = True
        else:
            state = getattr(result, "value", result)  # GraphOutput (version="v2")
            if isinstance(result, Mapping) and _INTERRUPT_KEY in result:
                interrupted = True
            elif getattr(result, "interrupts", None):
                interrupted = True
        try:
            response = response_of(state)
        except Exception:
            logger.exception("execution monitor: response_of failed for %s", run.execution_id)
        if response is not None and not isinstance(response, str):
            response = str(response)

    if exc is not None and not isinstance(exc, GraphBubbleUp):
        status = "failed"
        if error_summary is None:
            error_summary = _error_message(exc)
    elif not response and not interrupted:
        status = "failed"
        if error_summary is None:
            error_summary = _NO_RESPONSE
    elif failed_nodes:
        status = "partial"
    else:
        status = "completed"
    return _new_finished(
        (
            run.execution_id,
            run.conversation_id,
            run.user_id,
            run.request_message,
            run.t0_wall,
            completed_at,
            status,
            response or None,
            run.trace,
            failed_nodes,
            error_summary,
        )
    )
