"""GET /health and GET /metrics."""

import asyncio
import statistics
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from langgraph_execution_monitor.storage import queries

router = APIRouter(tags=["system"])


@router.get("/health", summary="Database, writer and listener state")
async def health(request: Request) -> JSONResponse:
    state = request.app.state
    try:
        database_ok = await asyncio.wait_for(queries.ping(state.pool), 2)
    except Exception:
        database_ok = False
    writer = state.writer
    latencies = list(writer.stats.write_latencies_ms)
    body: dict[str, Any] = {
        "status": "ok" if database_ok else "degraded",
        "database": "reachable" if database_ok else "unreachable",
        "writer": {
            "running": writer.running,
            "queued": writer.stats.queued,
            "written": writer.stats.written,
            "batches": writer.stats.batches,
            "retries": writer.stats.retries,
            "dropped": writer.stats.dropped,
            "dropped_buffer_full": writer.stats.dropped_buffer_full,
            "dropped_at_shutdown": writer.stats.dropped_at_shutdown,
            "failed_to_log": writer.stats.failed_to_log,
            "writer_restarts": writer.stats.writer_restarts,
            "queue_depth": writer.queue_depth,
            "waiting": writer.waiting,
            "queue_bytes": writer.buffered_bytes,
            "write_latency_ms_median": round(statistics.median(latencies), 3)
            if latencies
            else None,
            "last_error": writer.stats.last_error,
        },
        "listener": {
            "state": state.broadcaster.state,
            "clients": state.broadcaster.subscriber_count,
            "reconnects": state.broadcaster.stats.reconnects,
        },
    }
    return JSONResponse(body, status_code=200 if database_ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
