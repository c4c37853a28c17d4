"""Capture: what ran in a LangGraph run, in which order, how long, what failed, what it
cost. It only records; two small records per run (`ExecutionStarted`,
`ExecutionFinished`) go to a sink (the background writer's non-blocking ``enqueue``).

    monitor = ExecutionMonitor(emit=writer.enqueue)      # tests: emit=events.append
    graph = monitor.instrument(builder.compile())        # the same graph, monitored
    graph.invoke({"messages": [("user", "hi")]}, {"configurable": {"thread_id": "t1"}})

Modules: `graph` (the class swap and the stream paths every entry point takes),
`recording` (run state, frames, trace entries), `outcome` (status rules), `compat` (every
use of LangGraph and LangChain internals, with a self-check), `ids` (UUIDv7 ids).
"""

from langgraph_execution_monitor.capture.graph import ExecutionMonitor, RunOutcome
from langgraph_execution_monitor.capture.ids import new_execution_id
from langgraph_execution_monitor.capture.recording import (
    current_execution_id,
    report_node_error,
)

__all__ = [
    "ExecutionMonitor",
    "RunOutcome",
    "current_execution_id",
    "new_execution_id",
    "report_node_error",
]
