"""The host's FastAPI app. The lines marked `# monitor` are all it takes to adopt the
execution monitor: every run of the graph becomes a row in PostgreSQL, served with the
dashboard under /monitoring."""

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.graph import build_graph
from langgraph_execution_monitor import ExecutionMonitor  # monitor
from langgraph_execution_monitor.api.router import (  # monitor
    create_dashboard_router,
    create_router,
)
from langgraph_execution_monitor.storage.migrate import migrate  # monitor

DATABASE_URL = os.environ["DATABASE_URL"]
monitor = ExecutionMonitor(
    DATABASE_URL, api_token=os.environ.get("MONITORING_API_TOKEN")
)  # monitor
graph = monitor.instrument(build_graph())  # monitor


@asynccontextmanager
async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    migrate(DATABASE_URL)  # monitor
    async with monitor:  # monitor
        yield


app = FastAPI(lifespan=lifespan)
app.include_router(create_router(monitor, prefix="/monitoring/api/v1/monitoring"))  # monitor
app.include_router(create_dashboard_router(prefix="/monitoring"))  # monitor


@app.post("/ask")
async def ask(question: str, thread_id: str) -> dict[str, str]:
    config = {"configurable": {"thread_id": thread_id}}
    result = await graph.ainvoke({"messages": [("user", question)]}, config)
    return {"answer": result["messages"][-1].content}
