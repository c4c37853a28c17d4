"""A run's trace as the writer stores it: the usual trace is encoded in one pass, and
it stores exactly what the entry-by-entry encoding stores, caps included."""

import time
from typing import Any

import orjson
from langchain_core.messages import AIMessage

from langgraph_execution_monitor.events import LLMCall, TraceEntry
from langgraph_execution_monitor.rows import TextCleaner, iso, trace_text
from langgraph_execution_monitor.serialize import entry_dict, entry_dicts


def entry(node: str, **fields: Any) -> TraceEntry:
    now = time.perf_counter()
    values: dict[str, Any] = {
        "node": node,
        "status": "completed",
        "start": now,
        "end": now + 0.0123,
        "clock": time.time() - now,
        "error": None,
        "step": 1,
        "parent": None,
        "attempt": 1,
        **fields,
    }
    return TraceEntry(**values)


def one_by_one(trace: list[TraceEntry], cap: int) -> list[dict[str, Any]]:
    """The stored format, entry by entry (each output encoded and capped alone)."""
    return [orjson.loads(orjson.dumps(entry_dict(item, cap, stamp=True))) for item in trace]


def failure() -> ValueError:
    try:
        raise ValueError("bad input")
    except ValueError as error:
        return error


def test_a_usual_trace_stores_what_the_entry_by_entry_encoding_stores() -> None:
    answer = AIMessage(
        "Sunny",
        usage_metadata={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
        response_metadata={"model_name": "fake-gpt"},
    )
    now = time.perf_counter()
    trace = [
        entry("guardrail", output={"n": 1, "when": b"bytes", "ids": {1, 2}}),
        entry(
            "agent", output={"messages": [answer]}, llm_calls=[LLMCall("m", answer, now, now, None)]
        ),
        entry("tools", status="failed", error="bad input", exception=failure()),
        entry("writer", kind="task", task_id="t-1", branch=2, output="done"),
        entry("cached", cached=True, output=None),
    ]
    clean = TextCleaner(4000)

    stored = trace_text(trace, clean)

    assert orjson.loads(stored.text) == one_by_one(trace, clean.max_output_chars)
    assert (stored.input_tokens, stored.output_tokens, stored.total_tokens) == (12, 3, 15)
    assert stored.llm_calls == 1


def test_an_output_over_its_cap_is_cut_even_when_the_trace_is_small() -> None:
    trace = [entry("big", output={"text": "x" * 500}), entry("small", output={"n": 1})]
    clean = TextCleaner(4000, max_output_chars=100)

    stored = orjson.loads(trace_text(trace, clean).text)

    assert stored[0]["output"]["truncated"] is True and stored[0]["output"]["chars"] > 500
    assert stored[1]["output"] == {"n": 1}
    assert stored == one_by_one(trace, 100)


def test_text_the_database_refuses_is_repaired_in_a_usual_trace() -> None:
    trace = [entry("nul", output={"text": "a\x00b"}), entry("surrogate", output="x\ud800y")]

    stored = orjson.loads(trace_text(trace, TextCleaner(4000)).text)

    assert stored[0]["output"] == {"text": "a\ufffdb"}
    assert "\ud800" not in stored[1]["output"] and stored[1]["output"].startswith("x")


def test_each_entry_s_start_and_end_are_stamped_as_iso_stamps_them() -> None:
    # Same millisecond, same second, seconds and days apart, before 1970; in one
    # trace, so that each entry meets the second the one before it left cached.
    pairs = [
        (1796152340.0391, 1796152340.0394),
        (1796152340.0391, 1796152340.9994),
        (1796152339.9996, 1796152340.0004),
        (1796152340.5, 1796152340.9996),
        (1796150000.5, 1796152340.25),
        (-1.0005, -0.5),
    ]
    trace = [entry("n", start=start, end=end, clock=0.0) for start, end in pairs]

    stored = entry_dicts(trace, stamp=True)

    assert [(e["started_at"], e["timestamp"]) for e in stored] == [
        (iso(start), iso(end)) for start, end in pairs
    ]
    assert iso(1796152339.9996) == "2026-12-01T19:12:19.999Z"
    assert iso(1796152340.9996) == "2026-12-01T19:12:20.999Z"
    assert iso(-0.5) == "1969-12-31T23:59:59.500Z"
    assert iso(float("nan")) is None and iso(float("inf")) is None


def test_an_output_with_keys_that_are_not_text_keeps_them_as_text() -> None:
    trace = [entry("router", output={1: "one", None: "none", "route": {2.5: "a"}})]

    stored = orjson.loads(trace_text(trace, TextCleaner(4000)).text)

    assert stored[0]["output"] == {"1": "one", "null": "none", "route": {"2.5": "a"}}
