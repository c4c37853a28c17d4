"""The routers a host app includes:

    app.include_router(create_router(monitor, prefix="/api/v1/monitoring"))
    app.include_router(create_system_router(monitor))        # /health..., /metrics
    app.include_router(create_dashboard_router(prefix="/monitoring"))

`monitor` is anything with the attributes of `MonitorServices`. The token check
is a dependency the router exposes as `router.token_dependency` (and the
stream's as `router.stream_token_dependency`): pass your own as
`token_dependency=`, or replace them with `app.dependency_overrides`. Errors
are mapped by the routes' own route class, so they apply to these routes only.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from prometheus_client import CollectorRegistry

from langgraph_execution_monitor.api.deps import MonitorServices
from langgraph_execution_monitor.api.errors import MonitoringRoute
from langgraph_execution_monitor.api.routes.dashboard import create_dashboard_router
from langgraph_execution_monitor.api.routes.export import add_export_routes
from langgraph_execution_monitor.api.routes.monitoring import add_monitoring_routes
from langgraph_execution_monitor.api.routes.stream import add_stream_routes
from langgraph_execution_monitor.api.routes.system import add_system_routes
from langgraph_execution_monitor.api.security import (
    BearerToken,
    StreamAuth,
    StreamTickets,
    redact_access_log,
)
from langgraph_execution_monitor.metrics import build_registry

__all__ = ["create_dashboard_router", "create_router", "create_system_router"]


def create_router(
    monitor: MonitorServices,
    prefix: str = "/api/v1/monitoring",
    *,
    token_dependency: Callable[..., Any] | None = None,
    stream_heartbeat_s: float = 15.0,
    stream_send_timeout_s: float = 10.0,
    stream_ticket_ttl_s: float = 30.0,
) -> APIRouter:
    """The seed's monitoring endpoints, the error groups, threads, the listing's
    export and the live stream under `prefix`."""
    bearer = BearerToken(lambda: monitor.api_token)
    token_dependency = token_dependency or bearer
    tickets = StreamTickets(lambda: monitor.api_token, ttl_s=stream_ticket_ttl_s)
    stream_auth = StreamAuth(bearer, tickets)
    redact_access_log()

    router = APIRouter(prefix=prefix, route_class=MonitoringRoute)
    protected = APIRouter(route_class=MonitoringRoute, dependencies=[Depends(token_dependency)])
    add_export_routes(protected, monitor)  # before /logs/{execution_id}
    add_monitoring_routes(protected, monitor)
    router.include_router(protected)
    add_stream_routes(
        router,
        monitor,
        stream_auth,
        tickets,
        token_dependency,
        heartbeat_s=stream_heartbeat_s,
        send_timeout_s=stream_send_timeout_s,
    )
    router.token_dependency = token_dependency  # type: ignore[attr-defined]
    router.stream_token_dependency = stream_auth  # type: ignore[attr-defined]
    return router


def create_system_router(
    monitor: MonitorServices, *, registry: CollectorRegistry | None = None
) -> APIRouter:
    """`/health/live`, `/health/ready`, `/health` (= ready) and `/metrics`.
    Health details (counters, errors) only with the token, when one is set."""
    router = APIRouter(route_class=MonitoringRoute)
    if registry is None:
        registry = build_registry(lambda: (monitor.writer, monitor.broadcaster))  # type: ignore[arg-type,return-value]
    add_system_routes(router, monitor, BearerToken(lambda: monitor.api_token), registry)
    return router
