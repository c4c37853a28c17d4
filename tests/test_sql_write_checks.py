"""log_batch_v3 checks its input before writing anything, and the table holds a
status and a start for every row (the previous release's log_batch_v2 included)."""

from typing import Any

import asyncpg
import pytest

from langgraph_execution_monitor.rows import TextCleaner, batch_columns
from langgraph_execution_monitor.storage import queries
from tests.factories import finished, started

STATUS, STARTED_AT, COMPLETED_AT = 5, 4, 6  # positions of those arrays


def columns_of(*events: Any) -> list[list[Any]]:
    columns, unconvertible = batch_columns(list(events), TextCleaner(65_536))
    assert not unconvertible
    return columns


async def count(db: asyncpg.Connection) -> int:
    return await db.fetchval("SELECT count(*) FROM execution_logs")


async def test_arrays_of_different_lengths_are_refused_naming_the_lengths(
    db: asyncpg.Connection,
) -> None:
    columns = columns_of(started(), started())
    columns[3] = columns[3][:1]  # one request message for two events
    with pytest.raises(asyncpg.InvalidParameterValueError, match=r"same length, got \{2,2,2,1,"):
        await queries.log_batch_v3(db, columns)
    assert await count(db) == 0


async def test_a_missing_array_is_refused(db: asyncpg.Connection) -> None:
    columns: list[Any] = columns_of(started())
    columns[12] = None
    with pytest.raises(asyncpg.InvalidParameterValueError, match="NULL: an array missing"):
        await queries.log_batch_v3(db, columns)


async def test_a_null_status_is_refused_naming_the_event(db: asyncpg.Connection) -> None:
    good, bad = started(), started()
    columns = columns_of(good, bad)
    columns[STATUS][1] = None
    with pytest.raises(
        asyncpg.NullValueNotAllowedError,
        match=rf"event 2 of 2 \(id {bad.execution_id}\): no status",
    ):
        await queries.log_batch_v3(db, columns)
    assert await count(db) == 0  # nothing of the batch is written


async def test_an_unknown_status_is_refused(db: asyncpg.Connection) -> None:
    columns = columns_of(finished(started(), status="exploded"))
    with pytest.raises(asyncpg.InvalidParameterValueError, match="got exploded"):
        await queries.log_batch_v3(db, columns)


async def test_a_null_start_is_refused(db: asyncpg.Connection) -> None:
    columns = columns_of(started())
    columns[STARTED_AT][0] = None
    with pytest.raises(asyncpg.NullValueNotAllowedError, match="no started_at"):
        await queries.log_batch_v3(db, columns)


async def test_a_start_that_is_not_finite_is_refused(db: asyncpg.Connection) -> None:
    columns = columns_of(started())
    columns[STARTED_AT][0] = float("inf")
    with pytest.raises(asyncpg.NullValueNotAllowedError, match="started_at not finite"):
        await queries.log_batch_v3(db, columns)


async def test_a_finish_without_an_end_is_refused(db: asyncpg.Connection) -> None:
    columns = columns_of(finished(started()))
    columns[COMPLETED_AT][0] = None
    with pytest.raises(asyncpg.NullValueNotAllowedError, match=r"a finish \(completed\) with no"):
        await queries.log_batch_v3(db, columns)


async def test_a_valid_batch_is_written_and_counted(db: asyncpg.Connection) -> None:
    first, second = started(), started()
    assert await queries.log_batch_v3(db, columns_of(first, second, finished(first))) == (2, 0)


async def test_the_table_refuses_a_null_status_from_the_previous_release(
    db: asyncpg.Connection,
) -> None:
    columns = columns_of(started())
    columns[STATUS][0] = None
    with pytest.raises(asyncpg.NotNullViolationError, match="status"):
        await queries.log_batch_v2(db, columns)


async def test_the_table_refuses_a_null_start_from_the_previous_release(
    db: asyncpg.Connection,
) -> None:
    columns = columns_of(started())
    columns[STARTED_AT][0] = None
    with pytest.raises(asyncpg.NotNullViolationError, match="started_at"):
        await queries.log_batch_v2(db, columns)
