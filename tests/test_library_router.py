"""The library's routers in a host app of a user's shape: its own FastAPI app
and state, the monitoring API and the dashboard under prefixes it chooses, its
own auth in place of the token check, and its own error handling untouched by
ours. Plus `/docs` working with no network (assets served by the app)."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Header, HTTPException

from langgraph_execution_monitor.api.router import (
    create_dashboard_router,
    create_router,
    create_system_router,
)
from langgraph_execution_monitor.live_events import ExecutionBroadcaster
from langgraph_execution_monitor.storage import queries
from langgraph_execution_monitor.writer import LogWriter
from tests.factories import SEED_SUMMARY_KEYS, started, write


@dataclass
class HostMonitor:
    """A host's own object with what the routers need (`MonitorServices`)."""

    read_pool: asyncpg.Pool
    broadcaster: ExecutionBroadcaster
    writer: LogWriter | None = None
    api_token: str | None = None


@pytest.fixture
async def monitor(database_url: str) -> AsyncIterator[HostMonitor]:
    pool = await asyncpg.create_pool(database_url, min_size=0, max_size=2)
    broadcaster = ExecutionBroadcaster(database_url)
    try:
        yield HostMonitor(pool, broadcaster)
    finally:
        await broadcaster.stop()
        await pool.close()


def host_app(monitor: HostMonitor, **router_options: object) -> FastAPI:
    app = FastAPI()

    @app.get("/mine")
    async def mine() -> dict[str, str]:
        raise OSError("the host's own failure")

    app.include_router(
        create_router(monitor, prefix="/monitoring/api/v1/monitoring", **router_options)
    )  # type: ignore[arg-type]
    app.include_router(
        create_system_router(
            monitor,
        )
    )  # type: ignore[arg-type]
    app.include_router(create_dashboard_router(prefix="/monitoring"))
    return app


def http(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://host")


async def test_the_monitoring_api_is_served_under_the_hosts_prefix(
    monitor: HostMonitor, db: asyncpg.Connection
) -> None:
    run = started()
    await write(db, run)

    async with http(host_app(monitor)) as client:
        page = await client.get("/monitoring/api/v1/monitoring/logs")
        moved = await client.get("/api/v1/monitoring/logs")

    assert page.status_code == 200
    (row,) = page.json()["logs"]
    assert row["id"] == run.execution_id and SEED_SUMMARY_KEYS <= set(row)
    assert moved.status_code == 404


async def test_the_token_comes_from_the_object_passed_in(monitor: HostMonitor) -> None:
    monitor.api_token = "host-token"

    async with http(host_app(monitor)) as client:
        without = await client.get("/monitoring/api/v1/monitoring/stats")
        with_it = await client.get(
            "/monitoring/api/v1/monitoring/stats", headers={"Authorization": "Bearer host-token"}
        )

    assert (without.status_code, with_it.status_code) == (401, 200)


async def host_user(x_user: str | None = Header(default=None)) -> None:
    if x_user != "alice":
        raise HTTPException(403, "alice only")


async def test_the_host_can_pass_its_own_auth_dependency(monitor: HostMonitor) -> None:
    monitor.api_token = "ignored-now"

    async with http(host_app(monitor, token_dependency=host_user)) as client:
        bob = await client.get("/monitoring/api/v1/monitoring/stats", headers={"X-User": "bob"})
        alice = await client.get("/monitoring/api/v1/monitoring/stats", headers={"X-User": "alice"})

    assert (bob.status_code, alice.status_code) == (403, 200)


async def test_the_host_can_override_the_token_check(monitor: HostMonitor) -> None:
    monitor.api_token = "host-token"
    app = FastAPI()
    router = create_router(monitor, prefix="/m")  # type: ignore[arg-type]
    app.include_router(router)
    app.dependency_overrides[router.token_dependency] = host_user  # type: ignore[attr-defined]

    async with http(app) as client:
        bearer = await client.get("/m/stats", headers={"Authorization": "Bearer host-token"})
        alice = await client.get("/m/stats", headers={"X-User": "alice"})

    assert (bearer.status_code, alice.status_code) == (403, 200)


async def test_our_error_mapping_leaves_the_hosts_routes_alone(
    monitor: HostMonitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(*_: object) -> str:
        raise OSError("connection refused")

    monkeypatch.setattr(queries, "execution_stats", unreachable)

    async with http(host_app(monitor)) as client:
        ours = await client.get("/monitoring/api/v1/monitoring/stats")
        theirs = await client.get("/mine")

    assert ours.status_code == 503
    assert theirs.status_code == 500  # the host's own OSError is not "database unavailable"


async def test_the_dashboard_is_served_under_the_hosts_prefix(monitor: HostMonitor) -> None:
    async with http(host_app(monitor)) as client:
        bare = await client.get("/monitoring")
        page = await client.get("/monitoring/")
        script = await client.get("/monitoring/static/app.js")
        root = await client.get("/")

    assert bare.status_code == 308 and bare.headers["location"] == "/monitoring/"
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert script.status_code == 200
    assert root.status_code == 404  # the host's root stays the host's


async def test_health_without_a_writer_reports_the_database(monitor: HostMonitor) -> None:
    async with http(host_app(monitor)) as client:
        ready = await client.get("/health/ready")

    assert ready.status_code == 200
    assert ready.json()["writer"]["state"] == "absent"


async def test_the_docs_page_loads_its_assets_from_the_app(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)

    assert page.status_code == 200
    assert assets and all(asset.startswith("/") for asset in assets), assets
    for asset in assets:
        answer = await client.get(asset)
        assert answer.status_code == 200, asset
