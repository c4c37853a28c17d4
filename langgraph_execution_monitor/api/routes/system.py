"""Health and metrics.

- `GET /health/live`: the process answers (a liveness probe: restarting the
  process would not help a database that is down, and chat still works then).
- `GET /health/ready`: the database answers and the writer is not stuck (a
  readiness probe). `GET /health` is the same, kept for compatibility. With a
  read replica (the monitor's `read_replica_url`), the primary is asked through
  the stream's pool and the replica through the read pool: both must answer.
- Details (counters, the last error) only for requests with the token, when
  one is configured: an error message can tell more than an outsider needs.
- `GET /metrics`: Prometheus text.
"""

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from langgraph_execution_monitor.api.deps import MonitorServices, WriterView
from langgraph_execution_monitor.api.security import BearerToken
from langgraph_execution_monitor.capture import compat
from langgraph_execution_monitor.storage import queries


def writer_state(writer: WriterView | None) -> str:
    """ok | blocked (writes fail until an operator fixes the database) |
    retrying (events wait and writes fail) | stopped | absent."""
    if writer is None:
        return "absent"
    if not writer.running:
        return "stopped"
    if writer.stats.blocked_by is not None:
        return "blocked"
    if writer.queue_depth and not writer.stats.connected and writer.stats.retries:
        return "retrying"
    return "ok"


def writer_details(writer: WriterView) -> dict[str, Any]:
    stats = writer.stats
    latencies = list(stats.write_latencies_ms)
    return {
        "running": writer.running,
        "queued": stats.queued,
        "written": stats.written,
        "batches": stats.batches,
        "retries": stats.retries,
        "permanent_errors": stats.permanent_errors,
        "blocked_by": stats.blocked_by,
        "dropped": stats.dropped,
        "dropped_buffer_full": stats.dropped_buffer_full,
        "dropped_at_shutdown": stats.dropped_at_shutdown,
        "failed_to_log": stats.failed_to_log,
        "writer_restarts": stats.writer_restarts,
        "stale_closed": stats.stale_closed,
        "stale_replaced": stats.stale_replaced,
        "heartbeat_errors": stats.heartbeat_errors,
        "partitions_created": stats.partitions_created,
        "partitions_dropped": stats.partitions_dropped,
        "maintenance_errors": stats.maintenance_errors,
        "replayed": stats.replayed,
        "spooled_at_shutdown": stats.spooled_at_shutdown,
        "spool_errors": stats.spool_errors,
        "queue_depth": writer.queue_depth,
        "waiting": writer.waiting,
        "queue_bytes": writer.buffered_bytes,
        "write_latency_ms_median": round(statistics.median(latencies), 3) if latencies else None,
        "last_error": stats.last_error,
    }


async def answers(pool: Callable[[], Awaitable[asyncpg.Pool]]) -> bool:
    """Does the server behind `pool()` answer within 2 s?"""

    async def ping() -> bool:
        return await queries.ping(await pool())

    try:
        return await asyncio.wait_for(ping(), 2)
    except Exception:
        return False


def add_system_routes(
    router: APIRouter,
    monitor: MonitorServices,
    bearer: BearerToken,
    registry: CollectorRegistry,
) -> None:
    async def readiness(request: Request) -> JSONResponse:
        broadcaster = monitor.broadcaster
        # Optional in MonitorServices: a monitor without it reads from the primary.
        replica = getattr(monitor, "read_replica_url", None) is not None

        async def read_pool() -> asyncpg.Pool:
            return monitor.read_pool

        if replica:
            database_ok, replica_ok = await asyncio.gather(
                answers(broadcaster.pool), answers(read_pool)
            )
        else:
            database_ok, replica_ok = await answers(read_pool), True
        writer = monitor.writer
        state = writer_state(writer)
        ready = database_ok and replica_ok and state in ("ok", "absent")
        body: dict[str, Any] = {
            "status": "ok" if ready else "degraded",
            "database": "reachable" if database_ok else "unreachable",
            "writer": {"state": state},
            "listener": {"state": broadcaster.state},
            "capture": {"state": "incomplete" if compat.problems else "ok"},
        }
        if replica:
            body["read_replica"] = "reachable" if replica_ok else "unreachable"
        if bearer.authorized(request):
            if writer is not None:
                body["writer"].update(writer_details(writer))
            live = broadcaster.stats
            body["listener"].update(
                clients=broadcaster.subscriber_count,
                reconnects=live.reconnects,
                fetch_errors=live.fetch_errors,
                clients_dropped=live.subscribers_dropped,
                last_error=live.last_error,
            )
            body["capture"]["problems"] = list(compat.problems)
        return JSONResponse(body, status_code=200 if ready else 503)

    router.add_api_route(
        "/health/ready",
        readiness,
        methods=["GET"],
        summary="Ready: database reachable, writer not stuck (503 otherwise)",
        tags=["system"],
    )
    router.add_api_route(
        "/health",
        readiness,
        methods=["GET"],
        summary="Same as /health/ready (kept for compatibility)",
        tags=["system"],
    )

    @router.get("/health/live", summary="Live: the process answers", tags=["system"])
    async def liveness() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response, tags=["system"])
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
