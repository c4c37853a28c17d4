"""The FastAPI app: `uvicorn app.api.main:app`.

Its lifespan owns everything that runs in the background: the request pool,
the monitor's writer (drained on shutdown), the LISTEN connection and its
fan-out, and (with `serve --demo`) the demo traffic."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from app.api.body_limit import BodySizeLimit
from app.api.routes import chat
from app.config import Settings, get_settings
from app.services.demo_traffic import run_demo_traffic
from app.services.execution_monitor import (
    MonitorWiring,
    build_monitor,
    monitored_agent,
)
from app.storage.bootstrap import prepare_database, resolve_database_url
from langgraph_execution_monitor.api.router import (
    create_dashboard_router,
    create_router,
    create_system_router,
)
from langgraph_execution_monitor.api.security import SecurityHeaders
from langgraph_execution_monitor.api.stream_response import install_connection_guard

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.migrate_on_start:
        database_url = await asyncio.to_thread(prepare_database, settings)
    else:
        database_url = await asyncio.to_thread(resolve_database_url, settings)
    if not settings.monitoring_api_token:
        logger.warning(
            "MONITORING_API_TOKEN is not set: the monitoring API and dashboard are open to "
            "anyone who can reach this server (serve binds to 127.0.0.1 by default)"
        )

    monitor = await build_monitor(settings, database_url).start()
    app.state.monitoring.started(monitor)

    app.state.pool = monitor.read_pool
    app.state.writer = monitor.writer
    app.state.monitor = monitor
    app.state.graph = monitored_agent(settings, monitor)
    app.state.broadcaster = monitor.broadcaster

    demo: asyncio.Task[None] | None = None
    if settings.demo_traffic:
        demo = asyncio.create_task(
            run_demo_traffic(app.state.graph, settings.demo_runs_per_s), name="demo-traffic"
        )
    try:
        yield
    finally:
        if demo is not None:
            demo.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await demo
        await monitor.aclose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # FastAPIOffline: /docs and /redoc with their assets served by the app.
    app = FastAPIOffline(
        title="LangGraph execution monitor",
        summary="Every LangGraph run as one row in PostgreSQL: list, inspect, stream, chart.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    monitoring = MonitorWiring(settings.monitoring_api_token)
    app.state.monitoring = monitoring
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.chat_max_body_bytes, path_prefix="/api/v1/chat"
    )
    app.add_middleware(SecurityHeaders)
    install_connection_guard(app)
    api = create_router(
        monitoring,
        prefix="/api/v1/monitoring",
        stream_heartbeat_s=settings.stream_heartbeat_s,
        stream_send_timeout_s=settings.stream_send_timeout_s,
    )
    app.include_router(api)
    chat_auth = [Depends(api.token_dependency)] if settings.chat_requires_token else []
    app.include_router(chat.router, dependencies=chat_auth)
    app.include_router(create_system_router(monitoring))
    app.include_router(
        create_dashboard_router(
            prices=settings.model_prices, currency=settings.model_prices_currency
        )
    )
    return app


app = create_app()
