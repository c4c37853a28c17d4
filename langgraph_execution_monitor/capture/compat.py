"""Every use of LangGraph's and LangChain's internals, in one place, with a self-check.

The capture needs three things no public API gives:

- **Every task LangGraph runs**, of every graph (instrumented, built at run time, run
  by a tool), nodes and functional ``@task`` calls alike, each attempt of a retry: the
  runner's ``arun_with_retry`` / ``run_with_retry`` (``langgraph.pregel._runner``) are
  wrapped, and so is ``PregelRunner.commit``, which LangGraph calls once per task with
  the exception it ended with. Inside a monitored run, a task is followed from the
  runner's call to its commit (`_follow`, `recording.record_task`): no wrapper
  around the node, so the node runs exactly as it would unmonitored. A task whose
  attempts must be told apart (a RetryPolicy, a TimeoutPolicy) and a functional
  ``@task`` call (whose result is its output) get a stand-in runnable instead
  (`TaskProc`), which records each attempt. Outside monitored runs the wrappers cost
  one context variable read and return LangGraph's own coroutine.
- **Node timeouts** (TimeoutPolicy): ``langgraph.pregel._retry._arun_with_timeout``, so
  that a timed-out attempt is a failed entry with the timeout as its error (LangGraph
  cancels the attempt and raises ``NodeTimeoutError`` beside it).
- **CachePolicy hits**, which never run: the loops' ``match_cached_writes``.

And from langchain_core (public classes, patched methods): ``BaseChatModel.generate`` /
``agenerate`` for LLM calls (model, tokens), ``BaseTool.run`` / ``arun`` for tool calls
(name, status, time, error, also when ``ToolNode`` turns the error into a message).

`install()` applies all of it once, after `self_check()` has verified that each piece is
where it is expected; a missing piece is logged and counted (`problems`), that part of
the capture is off, and the app keeps running. Supported: langgraph >= 1.0 (the lowest
and highest release the package admits are tested in CI).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import time
from typing import Any

from langchain_core.runnables.config import var_child_runnable_config

from langgraph_execution_monitor.capture.recording import (
    PUSH,
    START,
    TASK_ID_KEY,
    Frame,
    _branch,
    _following,
    _new_entry,
    current_frame,
    current_run,
    innermost,
    record_cached,
    record_end,
    record_llm_call,
    record_task,
    supersede,
)
from langgraph_execution_monitor.events import LLMCall, TaskWrites

logger = logging.getLogger("langgraph_execution_monitor.capture")

# What the self-check found wrong; empty when the capture is complete.
problems: list[str] = []
_installed = False


class TaskProc(Frame):
    """Stands in for a task's runnable (``PregelExecutableTask.proc``) during one task:
    same input, same config, same result or exception. It is also the frame of each
    attempt (attempts of a task run one after the other)."""

    __slots__ = ("attempts", "inner", "writes")

    def __init__(
        self, inner: Any, name: str, kind: str, task_id: str, branch: Any, writes: Any
    ) -> None:
        self.inner = inner
        self.name = name
        self.kind = kind
        self.task_id = task_id
        self.branch = branch
        self.writes = writes  # the task's (channel, value) writes
        self.ended = True  # no attempt yet
        self.attempts = 0  # LangGraph retries a task by running its runnable again
        self.run = None  # set by the first attempt
        self.parent = self.parent_path = None
        self.error = self.llm_calls = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _written(self) -> Any:
        """The update a streamed task made (streaming returns no value): its writes."""
        return TaskWrites(self.writes)

    def _begin(self, config: Any) -> bool:
        run = current_run.get()
        if run is None or run.closed:
            return False
        try:
            self.enter(run, config)
            self.attempt = attempts = self.attempts + 1
            self.attempts = attempts
            if attempts > 1 and run.failures:  # a retry: earlier failures are not final
                supersede(run, self.task_id)
        except Exception:
            logger.exception("execution monitor: failed to record the start of %r", self.name)
            return False
        return True

    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        if not self._begin(config):
            return self.inner.invoke(input, config, **kwargs)
        try:
            result = self.inner.invoke(input, config, **kwargs)
        except BaseException as exc:
            record_end(self, exc, None)
            raise
        record_end(self, None, result)
        return result

    async def ainvoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        run = current_run.get()
        if run is None or run.closed:
            return await self.inner.ainvoke(input, config, **kwargs)
        if self.attempts or kwargs:
            return await self._ainvoke_attempt(run, input, config, kwargs)
        # The first attempt of a task, as LangGraph runs every async node: `enter` and
        # `record_end`'s usual case written out, the capture's hottest path.
        self.attempts = self.attempt = 1
        self.run = run
        self.ended = False
        parent = innermost(run)
        if parent is None:
            self.path = self.name
        else:
            self.parent = parent
            self.parent_path = parent.path
            self.path = f"{parent.path}/{self.name}"
        meta = config.get("metadata") if config else None
        self.step = meta.get("langgraph_step") if meta else None
        self.token = token = current_frame.set(self)
        self.start = time.perf_counter()
        try:
            result = await self.inner.ainvoke(input, config)
        except BaseException as exc:
            record_end(self, exc, None)
            raise
        if self.error is not None or self.llm_calls is not None or run.closed:
            record_end(self, None, result)
            return result
        end = time.perf_counter()
        try:
            current_frame.reset(token)
        except ValueError:  # reset from another context: nothing leaked there
            pass
        self.ended = True
        run.trace.append(
            _new_entry(
                (
                    self.name,
                    "completed",
                    self.start,
                    end,
                    run.offset,
                    None,
                    self.step,
                    self.parent_path,
                    1,
                    self.kind,
                    self.task_id,
                    self.branch,
                    result,
                    None,
                    None,
                    False,
                )
            )
        )
        return result

    async def _ainvoke_attempt(
        self, run: Any, input: Any, config: Any, kwargs: dict[str, Any]
    ) -> Any:
        try:
            self.enter(run, config)
            self.attempt = attempts = self.attempts + 1
            self.attempts = attempts
            if attempts > 1 and run.failures:  # a retry: earlier failures are not final
                supersede(run, self.task_id)
        except Exception:
            logger.exception("execution monitor: failed to record the start of %r", self.name)
            return await self.inner.ainvoke(input, config, **kwargs)
        try:
            result = await self.inner.ainvoke(input, config, **kwargs)
        except BaseException as exc:
            record_end(self, exc, None)
            raise
        record_end(self, None, result)
        return result

    def stream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        if not self._begin(config):
            yield from self.inner.stream(input, config, **kwargs)
            return
        try:
            yield from self.inner.stream(input, config, **kwargs)
        except BaseException as exc:
            record_end(self, exc, None)
            raise
        record_end(self, None, self._written())

    async def astream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        if not self._begin(config):
            async for chunk in self.inner.astream(input, config, **kwargs):
                yield chunk
            return
        try:
            async for chunk in self.inner.astream(input, config, **kwargs):
                yield chunk
        except BaseException as exc:
            record_end(self, exc, None)
            raise
        record_end(self, None, self._written())


def _take_over(task: Any, kind: str) -> None:
    """Put a `TaskProc` in front of this task's runnable (the task is LangGraph's frozen
    dataclass, made for this step only)."""
    proc = TaskProc(task.proc, task.name, kind, task.id, _branch(task.path), task.writes)
    object.__setattr__(task, "proc", proc)


def _follow(run: Any, task: Any, retry_policy: Any) -> None:
    """Follow a task of a monitored run: from the runner's call to LangGraph's commit
    (a record in `recording._following`; every task comes through here), or through a
    `TaskProc` where attempts must be told apart (a RetryPolicy, a TimeoutPolicy) or
    the result is the output (a functional ``@task`` call)."""
    try:
        if task.name == START or run.closed or task.proc.__class__ is TaskProc:
            return
        path = task.path
        # (PUSH, parent path, index, parent id, Call): a functional @task call.
        call = path[0] == PUSH and len(path) > 1 and path[1].__class__ is tuple
        if call or retry_policy or task.retry_policy or task.timeout is not None:
            _take_over(task, "task" if call else "node")
            return
        record = [
            task,
            run,
            time.perf_counter(),
            current_frame.get(),
            var_child_runnable_config.get(),
            None,
        ]
        run.tasks[task.id] = record
        _following[id(task)] = record
    except Exception:
        logger.exception("execution monitor: cannot follow task %r", task.name)


def _hook_runner(runner: Any) -> None:
    arun_with_retry = runner.arun_with_retry
    run_with_retry = runner.run_with_retry

    # Every task of every run goes through these: when the runner's functions take
    # (task, retry_policy, stream, configurable) as LangGraph calls them now, the
    # wrappers name them (no packing of the arguments into a dict and out again);
    # otherwise they pass on whatever they are given.
    if _positional(arun_with_retry) and _positional(run_with_retry):

        def arun_with_retry_monitored(
            task: Any,
            retry_policy: Any = None,
            stream: bool = False,
            configurable: Any = None,
            **kwargs: Any,
        ) -> Any:
            # Returns LangGraph's own coroutine: no extra layer for the runner to await.
            run = current_run.get()
            if run is not None:
                _follow(run, task, retry_policy)
            if kwargs:
                return arun_with_retry(task, retry_policy, stream, configurable, **kwargs)
            return arun_with_retry(task, retry_policy, stream, configurable)

        def run_with_retry_monitored(
            task: Any,
            retry_policy: Any = None,
            configurable: Any = None,
            **kwargs: Any,
        ) -> Any:
            run = current_run.get()
            if run is not None:
                _follow(run, task, retry_policy)
            return run_with_retry(task, retry_policy, configurable, **kwargs)

    else:

        def arun_with_retry_monitored(task: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            run = current_run.get()
            if run is not None:
                _follow(run, task, kwargs.get("retry_policy", args[0] if args else None))
            return arun_with_retry(task, *args, **kwargs)

        def run_with_retry_monitored(task: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            run = current_run.get()
            if run is not None:
                _follow(run, task, kwargs.get("retry_policy", args[0] if args else None))
            return run_with_retry(task, *args, **kwargs)

    arun_with_retry_monitored.__wrapped__ = arun_with_retry  # type: ignore[attr-defined]
    run_with_retry_monitored.__wrapped__ = run_with_retry  # type: ignore[attr-defined]
    runner.arun_with_retry = arun_with_retry_monitored
    runner.run_with_retry = run_with_retry_monitored


def _positional(function: Any) -> bool:
    """Whether the runner function's parameters are the ones the named wrappers pass
    on by position, in that order."""
    try:
        names = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return False
    if function.__name__ == "arun_with_retry":
        return names[:4] == ["task", "retry_policy", "stream", "configurable"]
    return names[:3] == ["task", "retry_policy", "configurable"]


def _hook_commit(runner: Any) -> None:
    """``PregelRunner.commit(task, exception)``: LangGraph's end of every task, called
    once per task in every runner path (inline, futures, threads)."""
    cls = runner.PregelRunner
    commit = cls.commit

    def commit_monitored(self: Any, task: Any, exception: BaseException | None) -> None:
        if not _following:  # no followed task anywhere: LangGraph's own, nothing more
            return commit(self, task, exception)
        end = time.perf_counter()  # the task's end, before LangGraph saves its writes
        try:
            return commit(self, task, exception)
        finally:
            record_task(task, exception, end)

    commit_monitored.__wrapped__ = commit  # type: ignore[attr-defined]
    cls.commit = commit_monitored


def _hook_timeouts(retry: Any) -> None:
    arun_with_timeout = retry._arun_with_timeout

    async def arun_with_timeout_monitored(*args: Any, **kwargs: Any) -> Any:
        try:
            return await arun_with_timeout(*args, **kwargs)
        except Exception as exc:
            if type(exc).__name__ == "NodeTimeoutError":
                proc = args[0].proc if args else None
                if isinstance(proc, TaskProc) and not proc.ended:
                    record_end(proc, exc, None, "failed")
            raise

    arun_with_timeout_monitored.__wrapped__ = arun_with_timeout  # type: ignore[attr-defined]
    retry._arun_with_timeout = arun_with_timeout_monitored


def _record_cache_hits(tasks: Any) -> None:
    run = current_run.get()
    if run is None or run.closed or not tasks:
        return
    for task in tasks:
        try:
            record_cached(run, task.name, task.config, task.id, dict(task.writes))
        except Exception:
            logger.exception("execution monitor: cannot record the cache hit of %r", task.name)


def _hook_cache(loop_module: Any) -> None:
    sync_loop, async_loop = loop_module.SyncPregelLoop, loop_module.AsyncPregelLoop
    match = sync_loop.match_cached_writes
    amatch = async_loop.amatch_cached_writes

    def match_cached_writes(self: Any) -> Any:
        matched = match(self)
        if matched:
            _record_cache_hits(matched)
        return matched

    async def amatch_and_record(self: Any) -> Any:
        matched = await amatch(self)
        if matched:
            _record_cache_hits(matched)
        return matched

    def amatch_cached_writes(self: Any) -> Any:
        # Without a cache, LangGraph's own coroutine: no extra layer on every step.
        if self.cache is None:
            return amatch(self)
        return amatch_and_record(self)

    match_cached_writes.__wrapped__ = match  # type: ignore[attr-defined]
    amatch_cached_writes.__wrapped__ = amatch  # type: ignore[attr-defined]
    sync_loop.match_cached_writes = match_cached_writes
    async_loop.amatch_cached_writes = amatch_cached_writes


def _model_name(model: Any) -> str | None:
    # The instance dict, not getattr: a pydantic model raises (slowly) for a field
    # it does not have.
    fields = getattr(model, "__dict__", None) or {}
    for attribute in ("model_name", "model", "model_id"):
        value = fields.get(attribute)
        if isinstance(value, str):
            return value
    return type(model).__name__


def _record_generations(model: Any, result: Any, start: float) -> None:
    end = time.perf_counter()
    name = _model_name(model)
    for generations in getattr(result, "generations", None) or ():
        message = getattr(generations[0], "message", None) if generations else None
        record_llm_call(LLMCall(name, message, start, end, None))


def _hook_chat_models(chat_models: Any) -> None:
    base = chat_models.BaseChatModel
    generate, agenerate = base.generate, base.agenerate

    def generate_monitored(self: Any, *args: Any, **kwargs: Any) -> Any:
        if current_run.get() is None:
            return generate(self, *args, **kwargs)
        start = time.perf_counter()
        try:
            result = generate(self, *args, **kwargs)
        except BaseException as exc:
            record_llm_call(LLMCall(_model_name(self), None, start, time.perf_counter(), exc))
            raise
        _record_generations(self, result, start)
        return result

    async def agenerate_monitored(self: Any, *args: Any, **kwargs: Any) -> Any:
        if current_run.get() is None:
            return await agenerate(self, *args, **kwargs)
        start = time.perf_counter()
        try:
            result = await agenerate(self, *args, **kwargs)
        except BaseException as exc:
            record_llm_call(LLMCall(_model_name(self), None, start, time.perf_counter(), exc))
            raise
        _record_generations(self, result, start)
        return result

    stream, astream = base.stream, base.astream

    def stream_monitored(self: Any, *args: Any, **kwargs: Any) -> Any:
        if current_run.get() is None:
            yield from stream(self, *args, **kwargs)
            return
        call = _StreamedCall(self)
        try:
            for chunk in stream(self, *args, **kwargs):
                call.add(chunk)
                yield chunk
        except BaseException as exc:
            call.end(exc)
            raise
        call.end(None)

    async def astream_monitored(self: Any, *args: Any, **kwargs: Any) -> Any:
        if current_run.get() is None:
            async for chunk in astream(self, *args, **kwargs):
                yield chunk
            return
        call = _StreamedCall(self)
        try:
            async for chunk in astream(self, *args, **kwargs):
                call.add(chunk)
                yield chunk
        except BaseException as exc:
            call.end(exc)
            raise
        call.end(None)

    for name, hook, original in (
        ("generate", generate_monitored, generate),
        ("agenerate", agenerate_monitored, agenerate),
        ("stream", stream_monitored, stream),
        ("astream", astream_monitored, astream),
    ):
        hook.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(base, name, hook)


class _StreamedCall:
    """A chat model's ``stream``/``astream``: one LLM call, its chunks summed. When the
    model does not stream, LangChain answers through ``generate``, which has recorded
    the call already."""

    __slots__ = ("frame", "known", "message", "model", "start")

    def __init__(self, model: Any) -> None:
        self.model = model
        self.message: Any = None
        run = current_run.get()
        frame = None if run is None else innermost(run)
        self.frame = frame
        self.known = len(frame.llm_calls or ()) if frame is not None else 0
        self.start = time.perf_counter()

    def add(self, chunk: Any) -> None:
        try:
            self.message = chunk if self.message is None else self.message + chunk
        except Exception:
            self.message = chunk

    def end(self, error: BaseException | None) -> None:
        frame = self.frame
        if frame is not None and len(frame.llm_calls or ()) > self.known:
            return  # recorded by generate already
        record_llm_call(
            LLMCall(_model_name(self.model), self.message, self.start, time.perf_counter(), error)
        )


def _tool_frame(tool: Any, kwargs: dict[str, Any]) -> Frame | None:
    run = current_run.get()
    if run is None or run.closed:
        return None
    try:
        return Frame(
            run, str(tool.name), kwargs.get("config"), "tool", None, kwargs.get("tool_call_id")
        )
    except Exception:
        logger.exception("execution monitor: failed to record the start of a tool")
        return None


def _end_tool(frame: Frame, result: Any) -> None:
    # A tool's own handle_tool_error (or ToolNode's) answers with an error message.
    if getattr(result, "status", None) == "error" and frame.error is None:
        content = getattr(result, "content", None)
        frame.error = content if isinstance(content, str) and content else "tool error"
    record_end(frame, None, result)


def _hook_tools(tools: Any) -> None:
    base = tools.BaseTool
    run, arun = base.run, base.arun

    def run_monitored(self: Any, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        frame = _tool_frame(self, kwargs)
        if frame is None:
            return run(self, tool_input, *args, **kwargs)
        try:
            result = run(self, tool_input, *args, **kwargs)
        except BaseException as exc:
            record_end(frame, exc, None)
            raise
        _end_tool(frame, result)
        return result

    async def arun_monitored(self: Any, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        frame = _tool_frame(self, kwargs)
        if frame is None:
            return await arun(self, tool_input, *args, **kwargs)
        try:
            result = await arun(self, tool_input, *args, **kwargs)
        except BaseException as exc:
            record_end(frame, exc, None)
            raise
        _end_tool(frame, result)
        return result

    run_monitored.__wrapped__ = run  # type: ignore[attr-defined]
    arun_monitored.__wrapped__ = arun  # type: ignore[attr-defined]
    base.run = run_monitored
    base.arun = arun_monitored


def self_check() -> list[str]:
    """What is not where the capture expects it (empty: all is well)."""
    found: list[str] = []
    try:
        from langgraph import constants
        from langgraph._internal import _constants
        from langgraph.pregel import _loop, _retry, _runner
        from langgraph.types import PregelExecutableTask
    except Exception as error:
        return [f"langgraph internals cannot be imported: {error!r}"]
    for module, name in (
        (_runner, "arun_with_retry"),
        (_runner, "run_with_retry"),
        (_retry, "_arun_with_timeout"),
    ):
        if not callable(getattr(module, name, None)):
            found.append(f"{module.__name__}.{name} is missing")
    for cls, name in (
        (_loop.SyncPregelLoop, "match_cached_writes"),
        (_loop.AsyncPregelLoop, "amatch_cached_writes"),
        (_runner.PregelRunner, "commit"),
    ):
        if not callable(getattr(cls, name, None)):
            found.append(f"{cls.__name__}.{name} is missing")
    fields = {f.name for f in dataclasses.fields(PregelExecutableTask)}
    missing = {"name", "proc", "path", "id", "config"} - fields
    if missing:
        found.append(f"PregelExecutableTask lacks {sorted(missing)}")
    if getattr(_constants, "PUSH", None) != PUSH:
        found.append("langgraph's PUSH marker changed")
    if getattr(_constants, "CONFIG_KEY_RUNTIME", None) != "__pregel_runtime":
        found.append("langgraph's runtime config key changed")
    if getattr(_constants, "CONFIG_KEY_TASK_ID", None) != TASK_ID_KEY:
        found.append("langgraph's task id config key changed")
    if getattr(constants, "START", None) != START:
        found.append("langgraph's START node name changed")
    return found


def install() -> list[str]:
    """Apply the hooks once; returns the problems found (also kept in `problems`)."""
    global _installed
    if _installed:
        return problems
    _installed = True
    problems.extend(self_check())
    if problems:
        for problem in problems:
            logger.error("execution monitor: %s; node traces are incomplete", problem)
        return problems
    from langgraph.pregel import _loop, _retry, _runner

    _hook_runner(_runner)
    _hook_commit(_runner)
    _hook_timeouts(_retry)
    _hook_cache(_loop)
    try:
        from langchain_core.language_models import chat_models
        from langchain_core.tools import base as tools

        _hook_chat_models(chat_models)
        _hook_tools(tools)
    except Exception as error:  # langchain_core moved something
        problems.append(f"langchain_core hooks failed: {error!r}")
        logger.exception("execution monitor: LLM and tool calls are not captured")
    return problems


__all__ = ["current_frame", "install", "problems", "self_check"]
