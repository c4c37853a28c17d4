"""Instrumenting a compiled graph: every entry point records one row per run.

`ExecutionMonitor.instrument(graph)` swaps the graph's class for a subclass (made once
per graph class and settings) whose ``stream`` and ``astream`` record the run. Every
entry point of a Pregel goes through one of them: ``invoke``/``batch`` iterate
``stream``, ``ainvoke``/``abatch`` ``astream``, ``astream_events`` (v1, v2 and v3) and
``stream_events(version="v3")`` run ``astream``/``stream`` too. The graph stays the same
object, a ``Pregel`` and a ``Runnable``: it can be served, used as a node and composed,
and the copies ``with_config`` makes (``self.__class__(**self.__dict__)``) are
monitored as well.

A run started while another monitored run is active (a monitored graph used as a
subgraph or called from a node or a tool) is part of that run: no second row, its
nodes nested under the calling node. Graphs nobody instrumented are followed too while
a monitored run is active (see `compat`).

Run identity, from what LangGraph apps already pass (each overridable per call with a
keyword argument of the same name, e.g. ``graph.invoke(state, config, user_id="u1")``):

- ``execution_id``: ``metadata.execution_id``, else the config's ``run_id``, else a new
  UUIDv7;
- ``conversation_id``: ``configurable.thread_id`` (or ``metadata.conversation_id``);
- ``user_id``: ``configurable.user_id`` or ``metadata.user_id``, else the monitor's default;
- ``request_message``: the text of the last human message of the input (the writer
  reads it out; see `serialize.request_text`); the input itself is stored as JSON.

Identifiers are stored as given up to 255 characters; a longer one is refused (a
warning, and a note in the run's error summary) and the run is still logged, under a
generated id (or without a conversation, or as the default user).

The final state is followed through the stream without changing what the caller sees:
``"values"`` and ``"updates"`` are added to the stream modes asked of LangGraph when the
caller did not ask for them (``invoke`` asks for both already), and their chunks are
dropped again with the caller's chunk shapes restored. A caller that stops iterating
before the end makes the run ``failed`` ("stream closed before the run finished").

Safety: emitting never raises into the caller; a bug here is logged, never raised into
the run; the graph's own exception object is re-raised unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from langgraph_execution_monitor.capture import compat
from langgraph_execution_monitor.capture.ids import new_execution_id
from langgraph_execution_monitor.capture.outcome import (
    INTERRUPT_KEY,
    ResponseOf,
    finished_event,
)
from langgraph_execution_monitor.capture.recording import Run, current_run
from langgraph_execution_monitor.events import (
    ExecutionEvent,
    ExecutionFinished,
    ExecutionStarted,
)
from langgraph_execution_monitor.limits import ID_MAX_CHARS

logger = logging.getLogger("langgraph_execution_monitor.capture")

Emit = Callable[[ExecutionEvent], object]  # a return value (enqueue: bool) is ignored

MAX_ID_CHARS = ID_MAX_CHARS  # one limit for the capture, the SQL and the API
STREAM_CLOSED = "stream closed before the run finished"
# Keyword arguments a caller may add to any entry point; never passed to LangGraph.
RUN_KEYWORDS = ("user_id", "conversation_id", "request_message", "execution_id")

_new_started = partial(tuple.__new__, ExecutionStarted)


class RunOutcome(NamedTuple):
    """What ``graph.arun`` returns."""

    result: Any  # the graph's output; None when it raised
    error: Exception | None  # what the graph raised, if it did
    finished: ExecutionFinished | None  # the recorded finish (None only if the monitor failed)


class StreamClosed(Exception):
    """The caller stopped iterating before the run ended."""


@dataclass(frozen=True)
class Binding:
    """How one `instrument` call records runs; shared by the graph and its copies."""

    monitor: ExecutionMonitor
    response_of: ResponseOf | None
    user_id: str


class _OutcomeSlot:
    __slots__ = ("finished",)

    def __init__(self) -> None:
        self.finished: ExecutionFinished | None = None


def _identifier(value: Any, name: str, notes: list[str]) -> str | None:
    if value is None:
        return None
    if value.__class__ is str and 0 < len(value) <= MAX_ID_CHARS:  # the usual case
        return value
    if value.__class__ is not str:
        value = str(value)
    if len(value) > MAX_ID_CHARS or not value:
        notes.append(
            f"{name} refused: {len(value)} characters, outside 1..{MAX_ID_CHARS}"
            if value
            else f"{name} refused: empty"
        )
        logger.warning(
            "execution monitor: %s of %d characters refused (at most %d); the run is "
            "logged without it",
            name,
            len(value),
            MAX_ID_CHARS,
        )
        return None
    return value


def _start(graph: Any, binding: Binding, input: Any, config: Any, kwargs: dict[str, Any]) -> Run:
    """A new run from the call's arguments; emits its start."""
    if kwargs:
        execution_id = kwargs.pop("execution_id", None)
        conversation_id = kwargs.pop("conversation_id", None)
        user_id = kwargs.pop("user_id", None)
        request = kwargs.pop("request_message", None)
        slot = kwargs.pop("_execution_monitor_outcome", None)
    else:  # the usual call: identity from the config alone
        execution_id = conversation_id = user_id = request = slot = None
    graph_config = graph.config
    if config or graph_config:
        if graph_config:  # with_config copies: the call's config wins, then the graph's
            sources = (config, graph_config) if config else (graph_config,)
        else:
            sources = (config,)
        for source in sources:
            configurable = source.get("configurable")
            if configurable:
                if conversation_id is None:
                    conversation_id = configurable.get("thread_id")
                if user_id is None:
                    user_id = configurable.get("user_id")
            metadata = source.get("metadata")
            if metadata:
                if execution_id is None:
                    execution_id = metadata.get("execution_id")
                if conversation_id is None:
                    conversation_id = metadata.get("conversation_id")
                if user_id is None:
                    user_id = metadata.get("user_id")
        if execution_id is None and config:
            execution_id = config.get("run_id")
    # Usually each is None or a string of a fitting length: checked here, without a call.
    notes: list[str] = []
    if execution_id is None:
        execution_id = new_execution_id()
    elif not (execution_id.__class__ is str and 0 < len(execution_id) <= MAX_ID_CHARS):
        execution_id = _identifier(execution_id, "execution_id", notes) or new_execution_id()
    if conversation_id is not None and not (
        conversation_id.__class__ is str and 0 < len(conversation_id) <= MAX_ID_CHARS
    ):
        conversation_id = _identifier(conversation_id, "conversation_id", notes)
    if user_id is None:
        user_id = binding.user_id
    elif not (user_id.__class__ is str and 0 < len(user_id) <= MAX_ID_CHARS):
        user_id = _identifier(user_id, "user_id", notes) or binding.user_id
    run = Run(
        execution_id,
        user_id,
        conversation_id,
        input if request is None else request,
        input,
    )
    if notes:
        run.notes = notes
    run.slot = slot
    binding.monitor.emit(
        _new_started((execution_id, conversation_id, user_id, run.request, run.t0_wall, input))
    )
    return run


def _finish(
    binding: Binding,
    run: Run,
    exc: BaseException | None,
    state: Any,
    has_state: bool,
    interrupted: bool,
) -> None:
    try:
        event = finished_event(run, exc, state, has_state, interrupted, binding.response_of)
    except Exception:
        logger.exception("execution monitor: failed to finish run %s", run.execution_id)
        return
    if run.slot is not None:
        run.slot.finished = event
    binding.monitor.emit(event)


_OURS = frozenset((*RUN_KEYWORDS, "_execution_monitor_outcome"))


def _strip(kwargs: dict[str, Any]) -> dict[str, Any]:
    if kwargs and not _OURS.isdisjoint(kwargs):  # LangGraph's own calls carry none
        for key in _OURS:
            kwargs.pop(key, None)
    return kwargs


def _reset(token: Any) -> None:
    try:
        current_run.reset(token)
    except ValueError:
        pass


def _sync_run(
    base_stream: Any, graph: Any, binding: Binding, input: Any, config: Any, kwargs: dict[str, Any]
) -> Iterator[Any]:
    try:
        run = _start(graph, binding, input, config, kwargs)
        view = StreamView(graph, kwargs)
    except Exception:
        logger.exception("execution monitor: failed to start a run")
        yield from base_stream(graph, input, config, **_strip(kwargs))
        return
    stream = base_stream(graph, input, config, **view.kwargs)
    exc: BaseException | None = None
    finished = False
    try:
        while True:
            # The run's context variables are set only while LangGraph works (inside
            # next(), where it creates the tasks that copy them), so they never leak
            # into the caller's code between chunks.
            token = current_run.set(run)
            try:
                chunk = next(stream)
            except StopIteration:
                finished = True
                break
            finally:
                _reset(token)
            keep = view.see(chunk)
            if keep is not DROP:
                yield keep
    except GeneratorExit:
        exc = StreamClosed(STREAM_CLOSED)
        raise
    except BaseException as e:
        exc = e
        raise
    finally:
        if not finished:
            stream.close()
            if exc is None:
                exc = StreamClosed(STREAM_CLOSED)
        _finish(binding, run, exc, view.state, view.seen_state, view.interrupted)


async def _async_run(
    base_astream: Any,
    graph: Any,
    binding: Binding,
    input: Any,
    config: Any,
    kwargs: dict[str, Any],
) -> AsyncIterator[Any]:
    try:
        run = _start(graph, binding, input, config, kwargs)
        view = StreamView(graph, kwargs)
    except Exception:
        logger.exception("execution monitor: failed to start a run")
        async for chunk in base_astream(graph, input, config, **_strip(kwargs)):
            yield chunk
        return
    stream = base_astream(graph, input, config, **view.kwargs)
    exc: BaseException | None = None
    finished = False
    try:
        while True:
            token = current_run.set(run)
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                finished = True
                break
            finally:
                _reset(token)
            keep = view.see(chunk)
            if keep is not DROP:
                yield keep
    except GeneratorExit:
        exc = StreamClosed(STREAM_CLOSED)
        raise
    except BaseException as e:
        exc = e
        raise
    finally:
        if not finished:
            await stream.aclose()
            if exc is None:
                exc = StreamClosed(STREAM_CLOSED)
        _finish(binding, run, exc, view.state, view.seen_state, view.interrupted)


def _plain_result(graph: Any, kwargs: dict[str, Any]) -> bool:
    """Whether ``invoke``/``ainvoke`` will return the final state, interrupts included
    (so the run can be recorded around the call, without following its stream): not
    for another stream mode, nor with static breakpoints (which end a run without
    saying so in its result)."""
    if kwargs and (
        kwargs.get("stream_mode", "values") != "values"
        or kwargs.get("interrupt_before")
        or kwargs.get("interrupt_after")
    ):
        return False
    return not (graph.interrupt_before_nodes or graph.interrupt_after_nodes)


def _invoke_run(
    base_invoke: Any, graph: Any, binding: Binding, input: Any, config: Any, kwargs: dict[str, Any]
) -> Any:
    try:
        run = _start(graph, binding, input, config, kwargs)
    except Exception:
        logger.exception("execution monitor: failed to start a run")
        return base_invoke(graph, input, config, **_strip(kwargs))
    token = current_run.set(run)
    try:
        result = base_invoke(graph, input, config, **kwargs)
    except BaseException as exc:
        _reset(token)
        _finish(binding, run, exc, None, False, False)
        raise
    _reset(token)
    _finish(binding, run, None, result, True, False)
    return result


DROP = object()


class StreamView:
    """Follows the final state and interrupts through a stream without changing the
    caller's chunks (v1: ``chunk``, ``(ns, chunk)``, ``(mode, chunk)`` or
    ``(ns, mode, chunk)``; v2: dicts with ``type`` and ``ns``)."""

    __slots__ = (
        "added",
        "broken",
        "interrupted",
        "kwargs",
        "listed",
        "mode",
        "seen_state",
        "single",
        "state",
        "subgraphs",
        "v2",
    )

    def __init__(self, graph: Any, kwargs: dict[str, Any]) -> None:
        mode = kwargs.get("stream_mode")
        if mode is None:
            mode = getattr(graph, "stream_mode", "values")
        self.single = isinstance(mode, str)
        modes = [mode] if self.single else list(mode)
        self.mode = mode
        self.subgraphs = bool(kwargs.get("subgraphs", False))
        self.v2 = kwargs.get("version", "v1") == "v2"
        self.added = tuple(m for m in ("values", "updates") if m not in modes)
        self.listed = not self.single or bool(self.added)  # LangGraph yields (mode, ...)
        self.state: Any = None
        self.seen_state = False
        self.interrupted = False
        self.broken = False
        if self.added:
            kwargs = {**kwargs, "stream_mode": [*modes, *self.added]}
        self.kwargs = kwargs

    def _track(self, mode: str, ns: Any, payload: Any) -> None:
        if ns:
            return  # a subgraph's, not the run's
        if mode == "values":
            if isinstance(payload, Mapping) and INTERRUPT_KEY in payload and len(payload) == 1:
                self.interrupted = True  # v1 reports an interrupt as its own chunk
                return
            self.state = payload
            self.seen_state = True
        elif mode == "updates" and isinstance(payload, Mapping) and INTERRUPT_KEY in payload:
            self.interrupted = True

    def see(self, chunk: Any) -> Any:
        if self.broken:
            return chunk
        try:
            if self.v2:
                kind = chunk.get("type")
                if kind == "values" or kind == "updates":
                    self._track(kind, chunk.get("ns"), chunk.get("data"))
                    if kind == "values" and chunk.get("interrupts") and not chunk.get("ns"):
                        self.interrupted = True
                    if kind in self.added:
                        return DROP
                return chunk
            if self.listed:
                if self.subgraphs:
                    ns, mode, payload = chunk
                else:
                    mode, payload = chunk
                    ns = ()
            else:
                mode = self.mode
                if self.subgraphs:
                    ns, payload = chunk
                else:
                    ns, payload = (), chunk
            self._track(mode, ns, payload)
            if mode in self.added:
                return DROP
            if self.single and self.added:  # restore the caller's shape
                return (ns, payload) if self.subgraphs else payload
            return chunk
        except Exception:
            logger.exception("execution monitor: failed to read a stream chunk")
            self.broken = True
            return chunk


# -- the class swap -----------------------------------------------------------------

_classes: dict[tuple[type, Binding], type] = {}


def _monitored_class(base: type, binding: Binding) -> type:
    key = (base, binding)
    cls = _classes.get(key)
    if cls is not None:
        return cls
    base_stream, base_astream = base.stream, base.astream
    base_invoke, base_ainvoke = base.invoke, base.ainvoke

    # Inside a monitored run (a subgraph, a graph a node or tool calls), each entry
    # point is LangGraph's own, unwrapped: the run's context records its tasks.
    def stream(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Iterator[Any]:
        if current_run.get() is not None:
            return base_stream(self, input, config, **_strip(kwargs))
        return _sync_run(base_stream, self, binding, input, config, kwargs)

    def astream(self: Any, input: Any, config: Any = None, **kwargs: Any) -> AsyncIterator[Any]:
        if current_run.get() is not None:  # also every monitored ainvoke's own call
            if kwargs and not _OURS.isdisjoint(kwargs):
                _strip(kwargs)
            return base_astream(self, input, config, **kwargs)
        return _async_run(base_astream, self, binding, input, config, kwargs)

    def invoke(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
        if current_run.get() is not None:
            return base_invoke(self, input, config, **_strip(kwargs))
        if not _plain_result(self, kwargs):  # LangGraph's invoke, through our stream
            return base_invoke(self, input, config, **kwargs)
        return _invoke_run(base_invoke, self, binding, input, config, kwargs)

    async def ainvoke(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
        # `_invoke_run`, written out: every coroutine layer between the caller and
        # LangGraph is crossed at each of the dozen suspensions of a run.
        if current_run.get() is not None:
            return await base_ainvoke(self, input, config, **_strip(kwargs))
        if (kwargs or self.interrupt_before_nodes or self.interrupt_after_nodes) and (
            not _plain_result(self, kwargs)
        ):
            return await base_ainvoke(self, input, config, **kwargs)
        try:
            run = _start(self, binding, input, config, kwargs)
        except Exception:
            logger.exception("execution monitor: failed to start a run")
            return await base_ainvoke(self, input, config, **_strip(kwargs))
        # Set once for the whole call: the caller awaits it, so none of its own code
        # runs inside this context meanwhile.
        token = current_run.set(run)
        try:
            result = await base_ainvoke(self, input, config, **kwargs)
        except BaseException as exc:
            _reset(token)
            _finish(binding, run, exc, None, False, False)
            raise
        _reset(token)
        _finish(binding, run, None, result, True, False)
        return result

    async def arun(self: Any, input: Any, config: Any = None, **kwargs: Any) -> RunOutcome:
        """Like ``ainvoke``, but returns the run's outcome instead of raising: the
        result, the exception the graph raised (cancellation is still raised), and
        the finish recorded (status, failed nodes, error summary, response), for
        callers that must answer in every case."""
        slot = _OutcomeSlot()
        try:
            result = await self.ainvoke(input, config, _execution_monitor_outcome=slot, **kwargs)
        except Exception as error:
            return RunOutcome(None, error, slot.finished)
        return RunOutcome(result, None, slot.finished)

    cls = type(
        base.__name__,
        (base,),
        {
            "stream": stream,
            "astream": astream,
            "invoke": invoke,
            "ainvoke": ainvoke,
            "arun": arun,
            "__module__": base.__module__,
            "__qualname__": base.__qualname__,
            "__execution_monitor__": binding,
            "__execution_monitor_base__": base,
        },
    )
    _classes[key] = cls
    return cls


class ExecutionMonitor:
    """Records graph runs and hands their start and finish to ``emit``.

    ``emit`` must be cheap and non-blocking (the writer's ``enqueue``); if it raises,
    the error is logged and the run goes on.
    """

    def __init__(self, emit: Emit, *, default_user_id: str = "anonymous") -> None:
        self._sink = emit
        self.default_user_id = default_user_id

    def instrument(
        self,
        graph: Any,
        response_of: ResponseOf | None = None,
        *,
        user_id: str | None = None,
    ) -> Any:
        """Record every run of this compiled graph; returns the same graph.

        ``response_of(final_state)`` picks the run's answer (default: the last AI
        message of a state with ``messages``, its ``response`` key, or the output
        itself); ``user_id`` is the user of runs that name none.
        """
        problems = compat.install()
        if problems:
            logger.warning("execution monitor: capture is incomplete: %s", "; ".join(problems))
        if not hasattr(graph, "astream") or not hasattr(graph, "stream"):
            raise TypeError(f"instrument() takes a compiled LangGraph graph, got {graph!r}")
        base = getattr(type(graph), "__execution_monitor_base__", type(graph))
        binding = Binding(self, response_of, user_id or self.default_user_id)
        graph.__class__ = _monitored_class(base, binding)
        return graph

    @staticmethod
    def uninstrument(graph: Any) -> Any:
        """Stop recording this graph's runs (it records nothing more, as before)."""
        base = getattr(type(graph), "__execution_monitor_base__", None)
        if base is not None:
            graph.__class__ = base
        return graph

    def emit(self, event: ExecutionEvent) -> None:
        """Hand an event to the sink; never raises."""
        try:
            self._sink(event)
        except Exception:
            logger.exception(
                "execution monitor: sink failed for %s of %s",
                type(event).__name__,
                event.execution_id,
            )
