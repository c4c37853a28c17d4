"""The same graph from a plain script (no event loop): `start()` runs the writer on a
background thread, `close()` drains it."""

import os
import sys

from app.graph import build_graph

from langgraph_execution_monitor import ExecutionMonitor

monitor = ExecutionMonitor(os.environ["DATABASE_URL"]).start()
graph = monitor.instrument(build_graph())
graph.invoke({"messages": [("user", sys.argv[1])]}, {"configurable": {"thread_id": sys.argv[2]}})
monitor.close()
