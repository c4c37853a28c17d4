"""The FastAPI side of the monitor: routers a host app includes (see `router`)."""

from langgraph_execution_monitor.api.deps import MonitorServices
from langgraph_execution_monitor.api.router import (
    create_dashboard_router,
    create_router,
    create_system_router,
)
from langgraph_execution_monitor.api.security import SecurityHeaders
from langgraph_execution_monitor.api.stream_response import install_connection_guard

__all__ = [
    "MonitorServices",
    "SecurityHeaders",
    "create_dashboard_router",
    "create_router",
    "create_system_router",
    "install_connection_guard",
]
