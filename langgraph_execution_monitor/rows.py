"""Turning execution events into the rows the writer sends (``log_batch_v4``: each
event as ``log_batch_v3``'s 16 values).

Text is cleaned (no NUL bytes, no lone surrogates, bounded length with a visible marker
where it was cut), non-text values become JSON (`serialize`), trace timestamps become
ISO-8601, node outputs are capped per entry and a whole trace is capped with a marker
entry, and a run's token totals are summed from its LLM calls.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson

from langgraph_execution_monitor.events import (
    ExecutionEvent,
    ExecutionFinished,
    ExecutionStarted,
    TraceEntry,
)
from langgraph_execution_monitor.serialize import (
    DEFAULT_MAX_OUTPUT_CHARS,
    entry_dict,
    entry_dicts,
    iso,
    request_text,
    response_text,
    to_json,
    to_json_uncapped,
)

logger = logging.getLogger("langgraph_execution_monitor.writer")

Row = tuple[Any, ...]  # one event as the parameters of log_batch_v3
COLUMNS = 16

DEFAULT_MAX_TRACE_CHARS = 1_048_576
DEFAULT_MAX_TRACE_ENTRIES = 2_000
# Traces up to this many entries are first tried in one encoding (see `_at_once`).
AT_ONCE_MAX_ENTRIES = 64

# Rough per-event overhead beyond its text, for the byte bound.
EVENT_BASE_BYTES = 256
TRACE_ENTRY_BYTES = 160
OBJECT_BYTES = 1_024  # a request or response that is not text yet


class TextCleaner:
    """Makes any text storable: no NUL bytes, no lone surrogates, bounded length
    (with a visible marker where it was cut). Non-text values become JSON."""

    def __init__(
        self,
        max_chars: int,
        *,
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
        max_trace_chars: int = DEFAULT_MAX_TRACE_CHARS,
        max_trace_entries: int = DEFAULT_MAX_TRACE_ENTRIES,
    ) -> None:
        self.max_chars = max_chars
        self.max_output_chars = max_output_chars
        self.max_trace_chars = max_trace_chars
        self.max_trace_entries = max_trace_entries

    def __call__(self, value: Any) -> str | None:
        if value is None:
            return None
        if value.__class__ is not str:
            value = value if isinstance(value, str) else to_json(value, self.max_chars)
        if len(value) > self.max_chars:
            cut = len(value) - self.max_chars
            value = f"{value[: self.max_chars]}… [truncated {cut} characters]"
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        if not value.isascii():
            # Lone surrogates cannot be encoded as UTF-8; replace them.
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value


_TIMESTAMP_KEYS = ("timestamp", "started_at")


# -- the trace ------------------------------------------------------------------


class TraceText(NamedTuple):
    """A trace as JSON text PostgreSQL accepts, with the run's token totals."""

    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    llm_calls: int = 0


_NO_TOKENS = (0, 0, 0, 0)


def trace_text(trace: Sequence[TraceEntry | dict[str, Any]], clean: TextCleaner) -> TraceText:
    if len(trace) <= AT_ONCE_MAX_ENTRIES and len(trace) <= clean.max_trace_entries:
        done = _at_once(trace, clean)
        if done is not None:
            return done
    entries: list[dict[str, Any]] = []
    dropped = max(0, len(trace) - clean.max_trace_entries)
    max_output = clean.max_output_chars
    for raw in trace[: clean.max_trace_entries] if dropped else trace:
        if raw.__class__ is TraceEntry:  # what the monitor records
            entry = entry_dict(raw, max_output, stamp=True)  # type: ignore[arg-type]
        elif isinstance(raw, dict):  # already in the stored format, float timestamps
            entry = raw.copy()
            for key in _TIMESTAMP_KEYS:
                value = entry.get(key)
                if value.__class__ is float:
                    entry[key] = iso(value)
        else:
            entry = {"node": clean(raw), "status": "unknown"}
        entries.append(entry)
    tokens = _tokens(entries)
    if dropped:
        entries.append(_marker(dropped, "more entries than the trace keeps"))
    text = _encode(entries, clean)
    if len(text) > clean.max_trace_chars:  # long texts are cut first, then outputs
        text = _careful(entries, clean)
        if len(text) > clean.max_trace_chars:
            text = _shrink(entries, clean)
    return TraceText(text, *tokens)


def _at_once(trace: Sequence[TraceEntry | dict[str, Any]], clean: TextCleaner) -> TraceText | None:
    """The usual trace (the monitor's entries, small outputs, plain text) in one
    encoding: None when it is not that trace, and the careful path must run. A text
    no longer than an output's cap holds no output over that cap."""
    calls = False
    for raw in trace:
        if raw.__class__ is not TraceEntry:
            return None
        if raw.llm_calls:  # type: ignore[union-attr]
            calls = True
    entries = entry_dicts(trace, None, stamp=True, encode_output=False)  # type: ignore[arg-type]
    try:
        text = to_json_uncapped(entries)
    except Exception:
        return None
    cap = clean.max_output_chars
    limit = clean.max_trace_chars if cap is None else min(cap, clean.max_trace_chars)
    if len(text) > limit or "\\u0000" in text:
        return None
    return TraceText(text, *_tokens(entries)) if calls else TraceText(text)


def _tokens(entries: list[dict[str, Any]]) -> tuple[int, int, int, int]:
    """Input, output and total tokens of the entries' LLM calls, and how many calls."""
    input_tokens = output_tokens = total_tokens = calls = 0
    for entry in entries:
        tokens = entry.get("tokens")
        if tokens:
            input_tokens += tokens.get("input") or 0
            output_tokens += tokens.get("output") or 0
            total_tokens += tokens.get("total") or 0
            calls += len(entry.get("llm_calls") or ()) or 1
    return (input_tokens, output_tokens, total_tokens, calls) if calls else _NO_TOKENS


def _marker(dropped: int, why: str) -> dict[str, Any]:
    return {
        "node": "…",
        "status": "truncated",
        "type": "marker",
        "dropped_entries": dropped,
        "error": f"trace truncated: {dropped} entries not kept ({why})",
    }


def _encode(entries: list[dict[str, Any]], clean: TextCleaner) -> str:
    try:
        text = orjson.dumps(entries, option=orjson.OPT_NON_STR_KEYS).decode()
    except Exception:  # lone surrogates, NaN in a dict entry, an odd value
        return _careful(entries, clean)
    if "\\u0000" in text:  # jsonb refuses NUL
        return _careful(entries, clean)
    return text


def _careful(entries: list[dict[str, Any]], clean: TextCleaner) -> str:
    safe: list[dict[str, Any]] = []
    for entry in entries:
        item: dict[str, Any] = {}
        for key, value in entry.items():
            key = clean(str(key)) or ""
            if value is None or value is True or value is False or isinstance(value, int):
                item[key] = value
            elif isinstance(value, float):
                item[key] = round(value, 3) if math.isfinite(value) else None
            elif isinstance(value, orjson.Fragment):
                item[key] = value
            elif isinstance(value, str):
                item[key] = clean(value)
            else:
                item[key] = orjson.Fragment(to_json(value, clean.max_output_chars))
        safe.append(item)
    return orjson.dumps(safe).decode()


def _shrink(entries: list[dict[str, Any]], clean: TextCleaner) -> str:
    """Over the trace cap: outputs go first, then entries from the end (marked)."""
    for entry in entries:
        if "output" in entry:
            del entry["output"]
            entry["output_dropped"] = True
    text = _encode(entries, clean)
    kept = len(entries)
    while len(text) > clean.max_trace_chars and kept > 1:
        kept = kept // 2
        text = _encode([*entries[:kept], _marker(len(entries) - kept, "trace too large")], clean)
    return text


# -- rows -----------------------------------------------------------------------


def _failed_nodes_json(nodes: list[str], clean: TextCleaner) -> str:
    if not nodes:
        return "[]"  # most runs
    return orjson.dumps([clean(node) for node in nodes]).decode()


def _text(read: Any, value: Any, clean: TextCleaner, what: str) -> str | None:
    if value is None or value.__class__ is str:
        return clean(value)
    try:
        return clean(read(value))
    except Exception as error:  # an object that cannot be read must not lose the run
        return f"[{what} could not be read: {type(error).__name__}]"


def event_row(event: ExecutionEvent, clean: TextCleaner) -> Row:
    """The `log_batch_v3` parameters of one event (raises if it cannot be converted)."""
    request = _text(request_text, event.request_message, clean, "request") or ""
    if isinstance(event, ExecutionFinished):
        # The input is stored with the finish only (which carries it and wins when
        # both meet in one batch): one serialisation per run.
        run_input = None if event.input is None else to_json(event.input, clean.max_chars)
        trace = trace_text(event.execution_trace, clean)
        return (
            clean(event.execution_id),
            clean(event.conversation_id),
            clean(event.user_id),
            request,
            float(event.started_at),
            clean(event.status),
            float(event.completed_at),
            _text(response_text, event.response_message, clean, "response"),
            trace.text,
            _failed_nodes_json(event.failed_nodes, clean),
            clean(event.error_summary),
            run_input,
            trace.input_tokens if trace.llm_calls else None,
            trace.output_tokens if trace.llm_calls else None,
            trace.total_tokens if trace.llm_calls else None,
            trace.llm_calls,
        )
    return (
        clean(event.execution_id),
        clean(event.conversation_id),
        clean(event.user_id),
        request,
        float(event.started_at),
        "running",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    )


def event_rows(events: Sequence[Any], clean: TextCleaner) -> tuple[list[Row], list[Any]]:
    """Rows for the events that convert, and the events that cannot."""
    rows: list[Row] = []
    unconvertible: list[Any] = []
    for event in events:
        try:
            rows.append(event_row(event, clean))
        except Exception:
            logger.exception(
                "cannot convert execution event %r", getattr(event, "execution_id", "?")
            )
            unconvertible.append(event)
    return rows, unconvertible


def rows_to_columns(rows: Sequence[Row]) -> list[list[Any]]:
    """The parallel arrays of `log_batch_v3`."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * COLUMNS


# Values of a row that are JSON text already: embedded as JSON, not as strings.
_JSON_VALUES = (8, 9, 11)


def rows_to_json(rows: Sequence[Row]) -> str:
    """The JSON array of `log_batch_v4`: one array of a row's values per event, its
    trace, failed nodes and input embedded as JSON."""
    events = []
    for row in rows:
        event = list(row)
        for index in _JSON_VALUES:
            value = event[index]
            if value is not None:
                event[index] = orjson.Fragment(value)
        events.append(event)
    return orjson.dumps(events).decode()


def batch_columns(
    events: list[ExecutionEvent], clean: TextCleaner
) -> tuple[list[list[Any]], list[ExecutionEvent]]:
    """The parallel arrays of `log_batch_v3` for these events, and the events that
    could not even be converted (counted as failed-to-log)."""
    rows, unconvertible = event_rows(events, clean)
    return rows_to_columns(rows), unconvertible


def _len(value: Any) -> int:
    return len(value) if value.__class__ is str else (0 if value is None else OBJECT_BYTES)


def event_size(event: ExecutionEvent) -> int:
    """Approximate bytes an event holds, for the buffer's byte bound. O(1): the
    lengths of its strings and of its trace list, never a walk of the trace."""
    try:
        size = EVENT_BASE_BYTES + _len(event.request_message)
        if isinstance(event, ExecutionFinished):
            size += (
                _len(event.response_message)
                + len(event.error_summary or "")
                + TRACE_ENTRY_BYTES * len(event.execution_trace)
            )
        return size
    except Exception:  # not an event as we know it: the writer will count it
        return EVENT_BASE_BYTES


__all__ = [
    "COLUMNS",
    "EVENT_BASE_BYTES",
    "ExecutionStarted",
    "Row",
    "TextCleaner",
    "batch_columns",
    "event_row",
    "event_rows",
    "event_size",
    "iso",
    "rows_to_columns",
    "rows_to_json",
]
