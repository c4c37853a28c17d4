"""LangGraph execution monitor: every run of a LangGraph graph as one row in PostgreSQL.

    from langgraph_execution_monitor import ExecutionMonitor

    monitor = ExecutionMonitor(database_url)
    graph = monitor.instrument(builder.compile())

See `monitor` for starting and stopping it in async and sync apps, and `capture` for
what a run records.
"""

from langgraph_execution_monitor.capture import (
    RunOutcome,
    current_execution_id,
    new_execution_id,
    report_node_error,
)
from langgraph_execution_monitor.monitor import ExecutionMonitor

__all__ = [
    "ExecutionMonitor",
    "RunOutcome",
    "current_execution_id",
    "new_execution_id",
    "report_node_error",
]
