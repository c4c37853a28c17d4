"""error_groups(p_hours): failures grouped by node, exception type and message
pattern (quoted values, ids and numbers replaced), with counts, users, first
and last seen, hourly counts and the newest runs; and GET /errors on it."""

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from langchain_core.messages import AIMessage
from langgraph.prebuilt import ToolNode, create_react_agent

from langgraph_execution_monitor.capture import ExecutionMonitor
from langgraph_execution_monitor.writer import LogWriter
from tests.factories import finished, started, write
from tests.psql import psql
from tests.test_capture_langgraph import ToolCallingFake, weather

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def failing_entry(t0: float, node: str, error: str, error_type: str | None) -> dict[str, Any]:
    return {
        "node": node,
        "status": "failed",
        "execution_time_ms": 3.0,
        "error": error,
        "error_type": error_type,
        "timestamp": t0 + 0.01,
        "started_at": t0 + 0.007,
        "step": 1,
        "parent": None,
        "attempt": 1,
    }


async def fail(
    db: asyncpg.Connection,
    error: str,
    *,
    node: str = "data_checker",
    error_type: str | None = "KeyError",
    user_id: str = "u1",
    ago_s: float = 10,
    status: str = "failed",
) -> str:
    run = started(user_id=user_id, ago_s=ago_s)
    await write(
        db,
        run,
        finished(
            run,
            status=status,
            trace=[failing_entry(run.started_at, node, error, error_type)],
            failed_nodes=[node],
            error_summary=error,
        ),
    )
    return run.execution_id


async def groups(db: asyncpg.Connection, hours: int = 24) -> list[dict[str, Any]]:
    return json.loads(await db.fetchval("SELECT error_groups_json($1)::text", hours))["groups"]


async def test_the_pattern_replaces_quoted_values_ids_and_numbers(db: asyncpg.Connection) -> None:
    message = (
        """user 42 not found in "db-7" for 'ada' """
        "(id 0b6f3c8e-1234-4abc-8def-0123456789ab, 3f2a9c1b4d5e6f)"
    )

    pattern = await db.fetchval("SELECT error_message_pattern($1)", message)

    assert pattern == """user <n> not found in "?" for '?' (id <id>, <id>)"""


async def test_the_same_error_with_other_values_is_one_group(db: asyncpg.Connection) -> None:
    first = await fail(db, "user 42 not found", user_id="ada", ago_s=30)
    last = await fail(db, "user 7 not found", user_id="bob", ago_s=20)

    (group,) = await groups(db)

    assert (group["node"], group["error_type"], group["pattern"]) == (
        "data_checker",
        "KeyError",
        "user <n> not found",
    )
    assert (group["failures"], group["runs"], group["users"]) == (2, 2, 2)
    assert sorted(group["affected_users"]) == ["ada", "bob"]
    assert group["last_message"] == "user 7 not found"
    assert group["recent_execution_ids"] == [last, first]
    assert group["first_seen"] < group["last_seen"]


async def test_another_node_or_exception_type_is_another_group(db: asyncpg.Connection) -> None:
    await fail(db, "boom 1")
    await fail(db, "boom 2", node="intent_classifier")
    await fail(db, "boom 3", error_type="ValueError")

    found = {(g["node"], g["error_type"]) for g in await groups(db)}

    assert found == {
        ("data_checker", "KeyError"),
        ("intent_classifier", "KeyError"),
        ("data_checker", "ValueError"),
    }


async def test_groups_come_most_frequent_first(db: asyncpg.Connection) -> None:
    await fail(db, "rare", node="a")
    for _ in range(3):
        await fail(db, "frequent", node="b")

    assert [g["node"] for g in await groups(db)] == ["b", "a"]


async def test_a_failed_run_with_no_failed_node_is_grouped_by_its_summary(
    db: asyncpg.Connection,
) -> None:
    run = started()
    await write(
        db, run, finished(run, status="failed", trace=[], error_summary="process died at 12:00")
    )

    (group,) = await groups(db)

    assert (group["node"], group["error_type"], group["pattern"]) == (
        None,
        None,
        "process died at <n>:<n>",
    )


async def test_a_retry_that_recovered_in_a_completed_run_is_not_an_error(
    db: asyncpg.Connection,
) -> None:
    run = started()
    entry = failing_entry(run.started_at, "flaky", "timed out", "TimeoutError")
    await write(db, run, finished(run, status="completed", trace=[entry]))

    assert await groups(db) == []


async def test_hourly_counts_put_each_failure_in_its_hour_oldest_first(
    db: asyncpg.Connection,
) -> None:
    await fail(db, "x", ago_s=2.5 * 3600)
    await fail(db, "x", ago_s=1800)
    await fail(db, "x", ago_s=1700)

    (group,) = await groups(db, hours=3)

    assert group["hourly"] == [1, 0, 2]


async def test_failures_older_than_the_window_are_left_out(db: asyncpg.Connection) -> None:
    await fail(db, "old", ago_s=3 * 3600)

    assert await groups(db, hours=2) == []


async def test_hours_out_of_range_are_refused(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError):
        await groups(db, hours=169)


async def test_a_react_agents_failing_tool_is_a_group_with_its_exception_type(
    writer: LogWriter, db: asyncpg.Connection
) -> None:
    monitor = ExecutionMonitor(emit=writer.enqueue)
    for _ in range(2):
        turns = iter(
            [
                AIMessage(
                    "", tool_calls=[{"name": "weather", "args": {"city": "Atlantis"}, "id": "c1"}]
                ),
                AIMessage("No weather there."),
            ]
        )
        agent = create_react_agent(
            ToolCallingFake(messages=turns), ToolNode([weather], handle_tool_errors=True)
        )
        config = {"configurable": {"thread_id": f"t-{uuid.uuid4()}"}}
        await monitor.instrument(agent).ainvoke({"messages": [("user", "Atlantis?")]}, config)
    await writer.stop(5)

    (group,) = await groups(db)

    assert (group["node"], group["error_type"], group["runs"]) == ("weather", "ValueError", 2)
    assert group["pattern"] == "no weather station in Atlantis"


async def test_a_psql_user_reads_the_groups_as_a_table(
    db: asyncpg.Connection, database_url: str
) -> None:
    await fail(db, "user 42 not found", user_id="ada")
    await fail(db, "user 7 not found", user_id="bob")

    rows = psql(
        database_url,
        "SELECT node, error_type, pattern, failures, users FROM error_groups(24)",
    )

    assert rows == [["data_checker", "KeyError", "user <n> not found", "2", "2"]]


async def test_get_errors_answers_the_groups(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await fail(db, "user 42 not found")

    answer = await client.get("/api/v1/monitoring/errors", params={"hours": 6})

    assert answer.status_code == 200
    body = answer.json()
    assert body["time_range_hours"] == 6
    assert [g["pattern"] for g in body["groups"]] == ["user <n> not found"]
    assert len(body["groups"][0]["hourly"]) == 6


async def test_get_errors_refuses_a_window_over_a_week(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/monitoring/errors", params={"hours": 169})).status_code == 422
