"""The library's entry point as an app uses it: `ExecutionMonitor(database_url)` in an
async app (``async with``, ``start``/``aclose``), with a pool the app lends, and in a sync
app (``start()`` runs the writer on a background thread, ``close()`` drains it)."""

import asyncio
import threading
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph

from langgraph_execution_monitor import ExecutionMonitor
from tests.test_stream import until


def greeter() -> Any:
    def greet(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(f"hello, {state['messages'][-1].content}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("greet", greet)
    builder.add_edge(START, "greet")
    return builder.compile()


def turn() -> tuple[dict[str, Any], dict[str, Any], str]:
    thread_id = f"t-{uuid.uuid4()}"
    return {"messages": [("user", "Ada")]}, {"configurable": {"thread_id": thread_id}}, thread_id


async def statuses(database_url: str, thread_id: str) -> list[str]:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT status FROM execution_monitor.execution_logs WHERE conversation_id = $1",
            thread_id,
        )
    finally:
        await connection.close()
    return [row["status"] for row in rows]


async def test_an_async_app_writes_its_runs_within_async_with(database_url: str) -> None:
    state, config, thread_id = turn()

    async with ExecutionMonitor(database_url, flush_interval_s=0.01) as monitor:
        graph = monitor.instrument(greeter())
        await graph.ainvoke(state, config)

    assert await statuses(database_url, thread_id) == ["completed"]


async def test_start_and_aclose_drain_what_was_buffered(database_url: str) -> None:
    monitor = ExecutionMonitor(database_url, flush_interval_s=10)  # no timed flush
    graph = monitor.instrument(greeter())
    await monitor.start()
    state, config, thread_id = turn()
    await graph.ainvoke(state, config)

    await monitor.aclose()

    assert await statuses(database_url, thread_id) == ["completed"]


async def test_a_lent_pool_is_written_through_and_never_closed(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    state, config, _ = turn()
    try:
        async with ExecutionMonitor(pool=pool, flush_interval_s=0.01) as monitor:
            await monitor.instrument(greeter()).ainvoke(state, config)
        assert await pool.fetchval("SELECT count(*) FROM execution_monitor.execution_logs") == 1
        assert not pool._closed
    finally:
        await pool.close()


def test_a_sync_app_is_monitored_by_a_background_thread_until_close(database_url: str) -> None:
    monitor = ExecutionMonitor(database_url, flush_interval_s=0.01).start()
    graph = monitor.instrument(greeter())
    state, config, thread_id = turn()

    graph.invoke(state, config)
    monitor.close()

    assert asyncio.run(statuses(database_url, thread_id)) == ["completed"]
    assert monitor.writer is not None and monitor.writer.stats.written == 2


def test_sync_runs_from_many_threads_are_all_written(database_url: str) -> None:
    turns = [turn() for _ in range(40)]
    with ExecutionMonitor(database_url, flush_interval_s=0.01) as monitor:
        graph = monitor.instrument(greeter())
        threads = [
            threading.Thread(target=graph.invoke, args=(state, config))
            for state, config, _ in turns
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    for _, _, thread_id in turns:
        assert asyncio.run(statuses(database_url, thread_id)) == ["completed"]


def test_the_monitor_takes_exactly_one_destination() -> None:
    with pytest.raises(TypeError, match="one of"):
        ExecutionMonitor()
    with pytest.raises(TypeError, match="one of"):
        ExecutionMonitor("postgres://x", emit=print)


async def test_the_started_monitor_serves_the_librarys_routers(database_url: str) -> None:
    from fastapi import FastAPI

    from langgraph_execution_monitor.api.router import create_router, create_system_router

    monitor = ExecutionMonitor(database_url, flush_interval_s=0.01, api_token="s3cret")
    app = FastAPI()
    app.include_router(create_router(monitor, prefix="/monitoring/api"))
    app.include_router(create_system_router(monitor))
    state, config, thread_id = turn()
    async with monitor:
        await monitor.instrument(greeter()).ainvoke(state, config)
        writer = monitor.writer
        assert writer is not None
        await until(lambda: writer.queue_depth == 0, "the run to be written")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://host"
        ) as client:
            refused = await client.get(f"/monitoring/api/conversations/{thread_id}/logs")
            answer = await client.get(
                f"/monitoring/api/conversations/{thread_id}/logs",
                headers={"Authorization": "Bearer s3cret"},
            )
            ready = await client.get("/health/ready")

    assert refused.status_code == 401
    assert [log["status"] for log in answer.json()["logs"]] == ["completed"]
    assert ready.status_code == 200
