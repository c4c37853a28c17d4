"""The demo agent's documented outcomes, captured by the monitor and written by
the background writer, end up as the right rows of `execution_logs`."""

import asyncio
import json
import time
from typing import Any

import asyncpg
import pytest
from langgraph.pregel import Pregel

from app.agents.conversational_graph import DEMO_INPUTS, build_graph, initial_state, response_of
from langgraph_execution_monitor.capture import ExecutionMonitor, new_execution_id
from langgraph_execution_monitor.writer import LogWriter


@pytest.fixture
def graph(writer: LogWriter) -> Pregel:
    return ExecutionMonitor(emit=writer.enqueue).instrument(build_graph(), response_of=response_of)


async def run_to_row(
    graph: Pregel, writer: LogWriter, db: asyncpg.Connection, message: str
) -> asyncpg.Record:
    """Run one demo turn, wait until the writer committed it, return its row."""
    execution_id = new_execution_id()
    await graph.arun(
        initial_state(message, "demo-user", "conv-demo"),
        user_id="demo-user",
        conversation_id="conv-demo",
        execution_id=execution_id,
    )
    deadline = time.monotonic() + 15
    while writer.queue_depth:
        assert time.monotonic() < deadline, "the writer did not write the run in time"
        await asyncio.sleep(0.01)
    row = await db.fetchrow("SELECT * FROM execution_logs WHERE id = $1", execution_id)
    assert row is not None
    return row


def trace_of(row: asyncpg.Record) -> list[dict[str, Any]]:
    return json.loads(row["execution_trace"])


@pytest.mark.parametrize("case", list(DEMO_INPUTS))
async def test_each_demo_outcome_is_one_row_with_its_status_failed_nodes_and_error(
    case: str, graph: Pregel, writer: LogWriter, db: asyncpg.Connection
) -> None:
    demo = DEMO_INPUTS[case]
    row = await run_to_row(graph, writer, db, demo.message)
    assert row["status"] == demo.status
    assert json.loads(row["failed_nodes"]) == demo.failed_nodes
    assert row["error_summary"] == demo.error_summary
    assert row["request_message"] == demo.message
    assert (row["user_id"], row["conversation_id"]) == ("demo-user", "conv-demo")
    assert row["completed_at"] >= row["started_at"]
    assert row["total_duration_ms"] is not None and row["total_duration_ms"] >= 0
    if demo.status == "failed":
        assert row["response_message"] is None
    else:
        assert row["response_message"].startswith("Here is your")


async def test_a_partial_run_stores_the_caught_error_on_its_node(
    graph: Pregel, writer: LogWriter, db: asyncpg.Connection
) -> None:
    row = await run_to_row(graph, writer, db, DEMO_INPUTS["partial"].message)
    failed = [e for e in trace_of(row) if e["status"] == "failed"]
    assert [(e["node"], e["error"]) for e in failed] == [
        ("multi_platform_orchestrator", "'NoneType' object has no attribute 'get'")
    ]
    assert "I wasn't able to generate the Twitter post" in row["response_message"]


async def test_a_failed_run_stores_the_trace_up_to_the_failing_node(
    graph: Pregel, writer: LogWriter, db: asyncpg.Connection
) -> None:
    row = await run_to_row(graph, writer, db, DEMO_INPUTS["failed"].message)
    trace = trace_of(row)
    assert [e["node"] for e in trace] == ["guardrail_check", "intent_classifier", "data_checker"]
    assert trace[-1]["status"] == "failed"
    assert trace[-1]["error"] == "'NoneType' object has no attribute 'get'"


async def test_a_retried_node_stores_each_attempt_in_the_trace(
    graph: Pregel, writer: LogWriter, db: asyncpg.Connection
) -> None:
    demo = DEMO_INPUTS["retried"]
    row = await run_to_row(graph, writer, db, demo.message)
    attempts = [
        (e["attempt"], e["status"], e.get("error"))
        for e in trace_of(row)
        if e["node"] == demo.retried_node
    ]
    assert attempts == [(1, "failed", "profile service timed out"), (2, "completed", None)]
    assert row["status"] == "completed" and json.loads(row["failed_nodes"]) == []


async def test_parallel_branches_share_a_step_and_subgraph_children_name_their_parent(
    graph: Pregel, writer: LogWriter, db: asyncpg.Connection
) -> None:
    row = await run_to_row(graph, writer, db, DEMO_INPUTS["parallel"].message)
    trace = trace_of(row)
    branches = [e for e in trace if e["node"] == "platform_writer"]
    assert len(branches) == 2
    assert branches[0]["step"] == branches[1]["step"]
    assert all(e["parent"] is None for e in branches)
    children = [e for e in trace if e["parent"] == "platform_writer"]
    assert sorted(e["node"] for e in children) == [
        "draft_post",
        "draft_post",
        "polish_post",
        "polish_post",
    ]
    # A subgraph counts its own steps: draft then polish, in each branch.
    assert sorted(e["step"] for e in children) == [1, 1, 2, 2]


async def test_trace_entries_carry_iso_timestamps_and_timings(
    graph: Pregel, writer: LogWriter, db: asyncpg.Connection
) -> None:
    row = await run_to_row(graph, writer, db, DEMO_INPUTS["completed"].message)
    for entry in trace_of(row):
        assert entry["timestamp"].endswith("Z") and entry["started_at"].endswith("Z")
        assert entry["started_at"] <= entry["timestamp"]
        assert entry["execution_time_ms"] >= 0
        assert entry["attempt"] == 1
