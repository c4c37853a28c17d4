"""What a run's objects become when stored: text for messages, compact JSON for the rest.

Runs in the writer, never on the hot path. Nothing is ever stored as a Python repr:
messages become their text, anything else JSON (pydantic models, dataclasses,
LangChain messages, datetimes, UUIDs, bytes, sets, objects with attributes), and a value
that cannot be read at all (a ``__str__`` or property that raises, a cycle) becomes a
visible marker. Every output has a size cap, marked where it was cut.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from langgraph_execution_monitor.events import LLMCall, TaskWrites, TraceEntry

DEFAULT_MAX_OUTPUT_CHARS = 16_384
TRACEBACK_MAX_FRAMES = 8
TRACEBACK_MAX_CHARS = 4_000

# Keys of an input that hold the user's message, in the order they are tried.
_MESSAGE_KEYS = ("messages", "message", "request_message", "input", "query", "question")
_HUMAN_ROLES = ("human", "user")
_AI_ROLES = ("ai", "assistant")


# -- JSON of anything -------------------------------------------------------------


def _default(value: Any) -> Any:
    """orjson's fallback for what it does not know (one handler per type, found once;
    a message's written out: agents' outputs are lists of them)."""
    kind = type(value)
    if kind in _MESSAGE_CLASSES:
        fields = value.__dict__
        out = {"type": fields["type"], "content": fields["content"]}
        for key in _MESSAGE_EXTRAS:
            extra = fields.get(key)
            if extra:
                out[key] = extra
        return out
    handler = _HANDLERS.get(kind)
    if handler is None:
        handler = _HANDLERS[kind] = _handler_for(value)
    return handler(value)


def _handler_for(value: Any) -> Any:
    if _is_message(value):
        fields = getattr(value, "__dict__", None)
        if fields and "type" in fields and "content" in fields:
            _MESSAGE_CLASSES.add(type(value))
        return _message_dict
    if hasattr(value, "model_dump"):  # pydantic v2
        return lambda v: v.model_dump(mode="json")
    if isinstance(value, bytes | bytearray | memoryview):
        return _bytes
    if isinstance(value, set | frozenset):
        return list
    if isinstance(value, Mapping):
        return dict
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return lambda v: {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
    if callable(getattr(value, "to_json", None)):  # langchain Serializable
        return lambda v: v.to_json()
    if hasattr(value, "_asdict"):
        return lambda v: v._asdict()
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return lambda v: {"type": type(v).__qualname__, **vars(v)}
    return lambda v: {"type": type(v).__qualname__}


def _bytes(value: Any) -> Any:
    raw = bytes(value)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw[:65_536]).decode(), "bytes": len(raw)}


_HANDLERS: dict[type, Any] = {}
# Message classes whose type and content are plain instance attributes (pydantic's).
_MESSAGE_CLASSES: set[type] = set()


_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def to_json(value: Any, max_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS) -> str:
    """Compact JSON text of any value, at most about ``max_chars`` long: past it, a JSON
    object saying how long it was, with its beginning as a string."""
    try:
        text = to_json_uncapped(value)
    except Exception as error:  # a cycle, a raising property, lone surrogates
        text = _careful_json(value, error)
    if "\\u0000" in text:  # jsonb refuses NUL
        text = text.replace("\\u0000", "\\ufffd")
    if max_chars is not None and len(text) > max_chars:
        preview = text[:max_chars]
        text = orjson.dumps(
            {"truncated": True, "chars": len(text), "preview": _clean_text(preview)}
        ).decode()
    return text


def to_json_uncapped(value: Any) -> str:
    """`to_json` without its cap and its repairs: raises where `to_json` would repair
    (a cycle, lone surrogates, an unreadable value); the caller falls back to it."""
    try:
        # Without OPT_NON_STR_KEYS first: it doubles orjson's cost of every dict, and
        # keys are almost always strings (a dict with another key raises: then with it).
        return orjson.dumps(value, default=_default, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:
        return orjson.dumps(value, default=_default, option=_OPTIONS).decode()


def _careful_json(value: Any, error: Exception) -> str:
    try:  # lone surrogates: encode with replacement, then try again
        return orjson.dumps(_scrub(value, 0), default=_default, option=_OPTIONS).decode()
    except Exception:
        return orjson.dumps(
            {"unserializable": type(value).__qualname__, "error": type(error).__name__}
        ).decode()


def _scrub(value: Any, depth: int) -> Any:
    """A copy with every string made storable (depth-limited: cycles end as markers)."""
    if depth > 50:
        return {"truncated": True, "reason": "nested too deep"}
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, Mapping):
        return {_clean_text(str(k)): _scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v, depth + 1) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    try:
        return _scrub(_default(value), depth + 1)
    except Exception as error:
        return {"unserializable": type(value).__qualname__, "error": type(error).__name__}


def _clean_text(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def jsonable(value: Any, max_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS) -> Any:
    """The JSON value that `to_json` would store."""
    return orjson.loads(to_json(value, max_chars))


# -- messages ---------------------------------------------------------------------


# Plain values, told apart without `isinstance` against an ABC (a Python-level call).
_PLAIN = (str, dict, list, tuple, int, float, bool, type(None))


def _is_message(value: Any) -> bool:
    # langchain_core's BaseMessage without importing it here: every message has
    # `type` and `content`, and is not a plain mapping.
    if value.__class__ in _MESSAGE_CLASSES:
        return True
    return (
        value.__class__ not in _PLAIN
        and not isinstance(value, Mapping)
        and hasattr(value, "content")
        and isinstance(getattr(value, "type", None), str)
    )


_MESSAGE_EXTRAS = ("name", "tool_calls", "tool_call_id", "status", "usage_metadata")


def _message_dict(message: Any) -> dict[str, Any]:
    # The fields pydantic keeps in the instance dict: getattr on a field a message
    # class lacks raises inside pydantic, slowly.
    fields = getattr(message, "__dict__", None) or {}
    out: dict[str, Any] = {"type": message.type, "content": message.content}
    for key in _MESSAGE_EXTRAS:
        value = fields.get(key)
        if value:
            out[key] = value
    return out


def content_text(content: Any) -> str | None:
    """The text of a message's content: a string, or the text parts of content blocks."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        if parts:
            return "".join(parts)
    return to_json(content)


def _role_and_content(message: Any) -> tuple[str | None, Any]:
    kind = message.__class__
    if kind is str:
        return "human", message
    if kind is tuple and len(message) == 2 and message[0].__class__ is str:
        return message[0], message[1]
    if kind in _MESSAGE_CLASSES:
        return message.type, message.content
    if isinstance(message, str):
        return "human", message
    if kind is dict or isinstance(message, Mapping):
        return message.get("role") or message.get("type"), message.get("content")
    if isinstance(message, tuple | list) and len(message) == 2 and isinstance(message[0], str):
        return message[0], message[1]
    if _is_message(message):
        return message.type, message.content
    return None, None


def _is_block(item: Any) -> bool:
    return isinstance(item, str) or (isinstance(item, Mapping) and "type" in item)


def message_text(message: Any) -> str | None:
    """The text of one message (a LangChain message, a dict, a ``(role, content)``
    tuple or a plain string)."""
    _role, content = _role_and_content(message)
    return content_text(content)


def _last_with_role(messages: Any, roles: tuple[str, ...]) -> Any:
    if isinstance(messages, str):
        return messages if "human" in roles else None
    if messages.__class__ is not list and not isinstance(messages, Sequence):
        messages = [messages]
    for message in reversed(messages):
        role, content = _role_and_content(message)
        if role in roles and content is not None:
            return message
    return None


def request_text(value: Any) -> str:
    """The request of a run: the text of the last human message of a ``messages`` or
    ``message`` input, another known key's text, else the input as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value.__class__ is dict or isinstance(value, Mapping):
        for key in _MESSAGE_KEYS:
            item = value.get(key)
            if item is None:
                continue
            if isinstance(item, str):
                return item
            if key in ("messages", "message"):
                last = _last_with_role(item, _HUMAN_ROLES)
                if last is not None:
                    return message_text(last) or ""
    elif _is_message(value):
        return message_text(value) or ""
    return to_json(value)


def response_text(value: Any) -> str | None:
    """The answer of a run: text as is, a message's text, the last AI message of a
    state with ``messages``, its ``response`` key, else compact JSON."""
    if value is None or isinstance(value, str):
        return value
    if _is_message(value):
        return message_text(value)
    if isinstance(value, list) and value and all(_is_block(item) for item in value):
        return content_text(value)
    if value.__class__ is dict or isinstance(value, Mapping):
        messages = value.get("messages")
        if messages:
            last = _last_with_role(messages, _AI_ROLES)
            if last is not None:
                return message_text(last)
        if isinstance(value.get("response"), str):
            return value["response"]
    return to_json(value)


# -- trace entries ----------------------------------------------------------------


def llm_call_dict(call: LLMCall) -> dict[str, Any]:
    message = call.message
    usage = getattr(message, "usage_metadata", None) or {}
    metadata = getattr(message, "response_metadata", None) or {}
    model = metadata.get("model_name") or metadata.get("model") or call.model
    out: dict[str, Any] = {
        "model": model,
        "input_tokens": usage.get("input_tokens"),
        "output_tokens": usage.get("output_tokens"),
        "total_tokens": usage.get("total_tokens"),
        "duration_ms": int((call.end - call.start) * 1e6 + 0.5) / 1000.0,
    }
    if call.error is not None:
        out["error"] = str(call.error) or type(call.error).__name__
    return out


def trimmed_traceback(error: BaseException) -> str:
    """The last frames of a traceback, capped in length."""
    frames = traceback.extract_tb(error.__traceback__)[-TRACEBACK_MAX_FRAMES:]
    lines = traceback.format_list(frames)
    lines.extend(traceback.format_exception_only(type(error), error))
    text = "".join(lines)
    return text[-TRACEBACK_MAX_CHARS:]


# -- timestamps -----------------------------------------------------------------

# One-entry cache, (second, its ISO text): timestamps cluster in a second. One
# tuple, replaced whole, so that a reader never sees one second with another's text.
# The second is a float: epoch seconds and milliseconds are multi-digit Python ints,
# whose arithmetic costs several times a float's.
_iso_second: tuple[float, str] = (math.nan, "")
# Index 1000 too: int(fraction * 1000) can round up to it for a fraction just below 1.
_ISO_MILLIS = [f".{ms:03d}Z" for ms in range(1000)] + [".999Z"]


def iso(ts: float) -> str | None:
    """`time.time()` float as ISO-8601 UTC with milliseconds ("...:00.120Z")."""
    global _iso_second
    try:
        fraction = ts % 1.0  # exact, and in [0, 1) before 1970 too
    except TypeError:
        return None
    second = ts - fraction
    cached, text = _iso_second
    if cached != second:
        try:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(second)))
        except (OverflowError, OSError, ValueError):  # inf, nan, out of range
            return None
        _iso_second = (second, text)
    return text + _ISO_MILLIS[int(fraction * 1000)]


# -- trace entries ----------------------------------------------------------------


_LANGGRAPH_CHANNELS = ("branch:", "__")  # LangGraph's own channels: edges, pushes, markers
# Where the functional API writes what a @task (RETURN) or an @entrypoint (END) returned.
_RETURNED = ("__return__", "__end__")


def entry_dicts(
    trace: Sequence[TraceEntry],
    max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS,
    *,
    stamp: bool = False,
    encode_output: bool = True,
) -> list[dict[str, Any]]:
    """The stored format of entries: the seed's node, status, execution_time_ms, error
    (failed entries only) and timestamp (when it ended); then started_at, step, parent,
    attempt, type, task_id, and where they apply branch, output, error_type,
    traceback, llm_calls, tokens and cached. Timestamps are `time.time()` floats, or
    with ``stamp`` `iso` texts. With ``encode_output`` false an output stays the object
    itself, for a caller that encodes the whole trace at once with `to_json_uncapped`
    and checks the cap itself.

    One loop, no call per entry in the usual case (a call costs more than all the rest
    of an entry): most entries start and end in the second `iso` stamped last, and a
    timestamp minus that second is exactly the fraction `iso` would take."""
    out: list[dict[str, Any]] = []
    second, text = _iso_second
    for entry in trace:
        (
            node,
            status,
            start,
            end,
            clock,
            error,
            step,
            parent,
            attempt,
            kind,
            task_id,
            branch,
            output,
            exception,
            llm_calls,
            cached,
        ) = entry
        if output.__class__ is TaskWrites:
            # The update the task made to state channels, without LangGraph's own writes
            # (edges, pushes, markers); what a functional task or entrypoint returned.
            # Written out: every node's entry comes through here.
            writes, output = output, None
            for channel, value in writes:
                if channel.startswith(_LANGGRAPH_CHANNELS):
                    if channel in _RETURNED:
                        output = value
                        break
                elif output is None:
                    output = {channel: value}
                else:
                    output[channel] = value
        started_at, ended_at = clock + start, clock + end
        if stamp:
            ended = ended_at - second
            started = started_at - second
            if 0.0 <= started <= ended < 1.0:
                ended_at = text + _ISO_MILLIS[int(ended * 1000)]
                started_text = text + _ISO_MILLIS[int(started * 1000)]
                started_at = ended_at if started_text == ended_at else started_text
            else:
                ended_at, started_at = iso(ended_at), iso(started_at)
                second, text = _iso_second
        item: dict[str, Any] = {
            "node": node,
            "status": status,
            "execution_time_ms": int((end - start) * 1e6 + 0.5) / 1000.0,
            "timestamp": ended_at,
            "started_at": started_at,
            "step": step,
            "parent": parent,
            "attempt": attempt,
            "type": kind,
            "task_id": task_id,
            # In the literal, so that the dict is made large enough at once (an 11th
            # key added later would grow it); taken out again when there is none.
            "output": output
            if output is None or not encode_output
            else orjson.Fragment(to_json(output, max_output_chars)),
        }
        if output is None:
            del item["output"]
        if status == "failed":
            item["error"] = error
        if branch is not None or cached or exception is not None or llm_calls:
            _rare_keys(item, entry)
        out.append(item)
    return out


def entry_dict(
    entry: TraceEntry,
    max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS,
    *,
    stamp: bool = False,
    encode_output: bool = True,
) -> dict[str, Any]:
    """The stored format of one entry (see `entry_dicts`)."""
    return entry_dicts((entry,), max_output_chars, stamp=stamp, encode_output=encode_output)[0]


def _rare_keys(out: dict[str, Any], entry: TraceEntry) -> None:
    if entry.branch is not None:
        out["branch"] = entry.branch
    if entry.cached:
        out["cached"] = True
    if entry.exception is not None and entry.status == "failed":
        out["error_type"] = type(entry.exception).__name__
        out["traceback"] = trimmed_traceback(entry.exception)
    if entry.llm_calls:
        calls = []
        input_tokens = output_tokens = total_tokens = 0
        for call in entry.llm_calls:
            stored = llm_call_dict(call)
            input_tokens += stored["input_tokens"] or 0
            output_tokens += stored["output_tokens"] or 0
            total_tokens += stored["total_tokens"] or 0
            calls.append(stored)
        out["llm_calls"] = calls
        out["tokens"] = {"input": input_tokens, "output": output_tokens, "total": total_tokens}


def plain(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry dict with its output as a JSON value rather than a pre-encoded fragment."""
    if isinstance(entry.get("output"), orjson.Fragment):
        return orjson.loads(orjson.dumps(entry))
    return entry
