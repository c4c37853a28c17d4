"""log_batch_v4, the writer's batch as one JSON array: it stores what log_batch_v3 stores
for the same events, and refuses a malformed batch before writing anything."""

import json
from typing import Any

import asyncpg
import pytest

from langgraph_execution_monitor.rows import TextCleaner, event_rows, rows_to_columns, rows_to_json
from langgraph_execution_monitor.storage import queries
from tests.factories import finished, started

STORED = """
    SELECT conversation_id, user_id, request_message, status, started_at, completed_at,
           total_duration_ms, response_message, execution_trace, failed_nodes, error_summary,
           input, input_tokens, output_tokens, total_tokens, llm_calls
    FROM execution_logs WHERE id = $1"""


def rows_of(*events: Any) -> list[tuple[Any, ...]]:
    rows, unconvertible = event_rows(list(events), TextCleaner(65_536))
    assert not unconvertible
    return rows


def a_failed_run(**start: Any) -> Any:
    trace = [
        {"node": "guardrail", "status": "completed", "output": {"ok": True}},
        {"node": "writer", "status": "failed", "error": 'bad "quote" ✓', "tokens": None},
    ]
    return finished(
        started(**start),
        status="failed",
        response_message=None,
        trace=trace,
        failed_nodes=["writer"],
        error_summary="bad input",
    )._replace(input={"messages": [{"role": "user", "content": "hi ✓"}]})


async def count(db: asyncpg.Connection) -> int:
    return await db.fetchval("SELECT count(*) FROM execution_logs")


async def test_it_stores_what_log_batch_v3_stores_for_the_same_events(
    db: asyncpg.Connection,
) -> None:
    through_v3 = a_failed_run()
    through_v4 = through_v3._replace(execution_id=started().execution_id)
    v3_start = started(conversation_id="c-1", request_message="hello\n\t✓")
    v4_start = v3_start._replace(execution_id=started().execution_id)

    await queries.log_batch_v3(db, rows_to_columns(rows_of(through_v3, v3_start)))
    assert await queries.log_batch_v4(db, rows_to_json(rows_of(through_v4, v4_start))) == (2, 0)

    for old, new in ((through_v3, through_v4), (v3_start, v4_start)):
        stored_v3 = dict(await db.fetchrow(STORED, old.execution_id))
        stored_v4 = dict(await db.fetchrow(STORED, new.execution_id))
        assert stored_v4 == stored_v3
    assert stored_v4["status"] == "running" and stored_v4["conversation_id"] == "c-1"
    failed = dict(await db.fetchrow(STORED, through_v4.execution_id))
    assert json.loads(failed["execution_trace"])[1]["error"] == 'bad "quote" ✓'
    assert failed["input"] is not None


async def test_an_empty_batch_writes_nothing(db: asyncpg.Connection) -> None:
    assert await queries.log_batch_v4(db, "[]") == (0, 0)


async def test_a_batch_that_is_not_an_array_is_refused(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match="must be a JSON array"):
        await queries.log_batch_v4(db, '{"id": "x"}')


async def test_an_event_without_its_16_values_is_refused_and_nothing_written(
    db: asyncpg.Connection,
) -> None:
    good = json.loads(rows_to_json(rows_of(started())))[0]
    with pytest.raises(asyncpg.InvalidParameterValueError, match="event 2 of 2 is not an array"):
        await queries.log_batch_v4(db, json.dumps([good, good[:15]]))
    assert await count(db) == 0


async def test_a_start_that_is_not_finite_is_refused_as_missing(db: asyncpg.Connection) -> None:
    rows = rows_of(started()._replace(started_at=float("nan")))
    with pytest.raises(asyncpg.NullValueNotAllowedError, match="no started_at"):
        await queries.log_batch_v4(db, rows_to_json(rows))
    assert await count(db) == 0


async def test_log_batch_v3s_checks_apply(db: asyncpg.Connection) -> None:
    event = json.loads(rows_to_json(rows_of(started())))[0]
    event[5] = None  # no status
    with pytest.raises(asyncpg.NullValueNotAllowedError, match="no status"):
        await queries.log_batch_v4(db, json.dumps([event]))
