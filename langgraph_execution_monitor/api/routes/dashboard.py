"""The dashboard page and its static files, under any prefix (its data calls
carry the token, not the page). Every response carries the page's
Content-Security-Policy: its own scripts and styles, its own API, no frames."""

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

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


def create_dashboard_router(prefix: str = "", static_dir: Path = STATIC_DIR) -> APIRouter:
    """`{prefix}/` serves the page, `{prefix}/static/<file>` its files
    (only the files the folder holds, by exact name)."""
    prefix = prefix.rstrip("/")
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
