"""How a finished run is judged: its status, failed nodes, error summary and response.

- ``failed``: the run raised (``error_summary``: the first failed entry's error, else the
  raised exception's), or produced no response.
- ``interrupted``: it stopped for a human (``interrupt()``, a static breakpoint from
  ``interrupt_before`` / ``interrupt_after``): waiting, not failing.
- ``partial``: it answered but an entry failed (a caught error, a tool error that
  ``ToolNode`` handled, a branch that failed while the run went on).
- ``completed`` otherwise.

``failed_nodes`` holds unique names in order of failure (a failed subgraph child comes
before its parent, a failed tool before its node); failures that a retry superseded do
not count. A finish is always built, whatever the response object does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from langgraph_execution_monitor.capture.recording import (
    Run,
    abandon_tasks,
    error_message,
    is_control_flow,
    logger,
)
from langgraph_execution_monitor.events import ExecutionFinished, TraceEntry

NO_RESPONSE = "run produced no response"
INTERRUPT_KEY = "__interrupt__"

ResponseOf = Callable[[Any], Any]

_new_finished = partial(tuple.__new__, ExecutionFinished)
_new_entry = partial(tuple.__new__, TraceEntry)


def default_response(state: Any) -> Any:
    """What the run answered, picked cheaply (the writer makes it text): the last AI
    message of a state with ``messages``, its ``response`` key, or the output itself."""
    if state.__class__ is dict or isinstance(state, Mapping):
        messages = state.get("messages")
        if messages and isinstance(messages, list):
            return _last_ai_message(messages)
        response = state.get("response")
        if response is not None:
            return response
        return state or None
    if state.__class__ is list and state and hasattr(state[-1], "content"):
        return _last_ai_message(state)  # output_keys="messages": the list itself
    return state


def _last_ai_message(messages: list[Any]) -> Any:
    for message in reversed(messages):
        if getattr(message, "type", None) == "ai":
            return message
        if isinstance(message, Mapping) and message.get("role") in ("ai", "assistant"):
            return message
    return None


def _is_empty(response: Any) -> bool:
    if response is None:
        return True
    if response.__class__ is str:
        return not response
    content = getattr(response, "content", response)  # a message: its content
    if isinstance(content, str | list | dict | tuple):
        return not content
    return False


def finished_event(
    run: Run,
    exc: BaseException | None,
    state: Any,
    has_state: bool,
    interrupted: bool,
    response_of: ResponseOf | None,
) -> ExecutionFinished:
    if run.tasks:
        abandon_tasks(run)
    run.closed = True
    completed_at = run.t0_wall + (time.perf_counter() - run.t0_perf)
    failed_nodes: list[str] = []
    error_summary: str | None = None
    for _tasks, node, error, superseded, *_ in run.failures:
        if superseded:
            continue
        if error_summary is None:
            error_summary = error
        if node not in failed_nodes:
            failed_nodes.append(node)

    interrupted = interrupted or run.interrupted
    if exc is not None and type(exc).__name__ in ("GraphInterrupt", "NodeInterrupt"):
        interrupted = True
    response: Any = None
    if has_state:
        if state.__class__ is not dict and hasattr(state, "interrupts"):  # GraphOutput (v2)
            interrupted = interrupted or bool(state.interrupts)
            state = state.value
        if (state.__class__ is dict or isinstance(state, Mapping)) and INTERRUPT_KEY in state:
            interrupted = True
        try:
            response = default_response(state) if response_of is None else response_of(state)
        except Exception:
            logger.exception("execution monitor: response_of failed for %s", run.execution_id)

    if exc is not None and not is_control_flow(exc):
        status = "failed"
        if error_summary is None:
            error_summary = error_message(exc)  # type: ignore[arg-type]
    elif interrupted:
        status = "interrupted"
    elif _is_empty(response):
        status = "failed"
        response = None
        if error_summary is None:
            error_summary = NO_RESPONSE
    elif failed_nodes:
        status = "partial"
    else:
        status = "completed"
    if run.notes:
        note = "; ".join(run.notes)
        error_summary = note if error_summary is None else f"{error_summary} ({note})"
    trace = run.trace
    if run.llm_calls:  # chat-model calls made outside any node
        now = time.perf_counter()
        trace.append(
            _new_entry(
                (
                    "(outside nodes)",
                    "completed",
                    now,
                    now,
                    run.offset,
                    None,
                    None,
                    None,
                    1,
                    "llm",
                    None,
                    None,
                    None,
                    None,
                    run.llm_calls,
                    False,
                )
            )
        )
    return _new_finished(
        (
            run.execution_id,
            run.conversation_id,
            run.user_id,
            run.request,
            run.t0_wall,
            completed_at,
            status,
            response,
            trace,
            failed_nodes,
            error_summary,
            run.input,
        )
    )
