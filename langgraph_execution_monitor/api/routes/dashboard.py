"""The dashboard page and its static files, under any prefix (its data calls
carry the token, not the page). Every response carries the page's
Content-Security-Policy: its own scripts and styles, its own API, no frames.
`dashboard-config.json` beside the page holds the price table (prices.py)."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse, Response

from langgraph_execution_monitor.api.prices import ModelPrice, price_table
from langgraph_execution_monitor.api.security import dashboard_headers

STATIC_DIR = Path(__file__).resolve().parents[2] / "dashboard" / "static"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".woff2": "font/woff2",
}


def create_dashboard_router(
    prefix: str = "",
    static_dir: Path = STATIC_DIR,
    *,
    prices: Mapping[str, ModelPrice | Mapping[str, Any]] | None = None,
    currency: str = "USD",
) -> APIRouter:
    """`{prefix}/` serves the page, `{prefix}/static/<file>` its files
    (only the files the folder holds, by exact name), and
    `{prefix}/dashboard-config.json` the price table: `prices` maps a model
    name (or a `prefix*`) to `{"input": ..., "output": ...}` per 1,000 tokens in
    `currency`. Without prices, the page shows tokens and no cost."""
    prefix = prefix.rstrip("/")
    config_body = price_table(prices, currency).model_dump_json()
    router = APIRouter(prefix=prefix, include_in_schema=False)
    files = {
        path.name: path
        for path in static_dir.iterdir()
        if path.is_file() and path.suffix in MEDIA_TYPES
    }

    def file_response(path: Path, cache: str) -> FileResponse:
        headers = {**dashboard_headers(), "Cache-Control": cache}
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=headers)

    if prefix:

        @router.get("")
        async def to_page() -> RedirectResponse:
            # The page's URLs are relative: it must be served at `prefix/`.
            return RedirectResponse(f"{prefix}/", status_code=308)

    @router.get("/")
    async def index() -> FileResponse:
        return file_response(files["index.html"], "no-cache")

    @router.get("/dashboard-config.json")
    async def dashboard_config() -> Response:
        headers = {**dashboard_headers(), "Cache-Control": "no-cache"}
        return Response(config_body, media_type="application/json", headers=headers)

    @router.get("/favicon.ico")
    async def favicon() -> FileResponse:
        return file_response(files["favicon.svg"], "max-age=86400")

    @router.get("/static/{name}")
    async def static(name: str) -> FileResponse:
        path = files.get(name)
        if path is None:
            raise HTTPException(404, "no such file")
        return file_response(path, "no-cache")

    return router
