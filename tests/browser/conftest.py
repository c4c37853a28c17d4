"""Browser fixtures: one headless Chromium per session (Debian's package), a
fresh context and page per test, and helpers that wait on the real API.

Playwright's async API runs in the session's single event loop, the same one
that serves `live_server`, so the page and the server take turns without
threads."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    async_playwright,
)

from app.api.main import create_app
from app.config import Settings
from tests.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium reaches for the network, which is closed here.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}

T = TypeVar("T")


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium. Missing, the tests fail rather than skip: CI installs it."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's chromium package "
            "(`apt-get install -y chromium`; .ci/run installs it)",
            pytrace=False,
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    """One headless Chromium for the session."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class PageErrors:
    """Console errors and uncaught exceptions seen by a page."""

    console: list[str] = field(default_factory=list)
    uncaught: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return self.console + self.uncaught


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
async def page(context: BrowserContext, page_errors: PageErrors) -> Page:
    """A page that records its console errors and uncaught exceptions."""
    tab = await context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            page_errors.console.append(f"{message.text} ({message.location})")

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: page_errors.uncaught.append(str(error)))
    return tab


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the live server (to make runs and read the API)."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
        yield client


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    timeout_s: float = 10.0,
    what: str = "condition",
) -> T:
    """Poll `probe` until `accept` says yes; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        await asyncio.sleep(0.02)


async def screenshot(target: Any, name: str, **options: Any) -> Path:
    """Save a PNG under artifacts/screenshots/ (kept by CI)."""
    path = SCREENSHOTS / f"{name}.png"
    await target.screenshot(path=str(path), animations="disabled", **options)
    return path


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve an ASGI app with a real uvicorn on a free local port; yields its URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises the startup error
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


PREFIX = "/monitoring"


@pytest.fixture
async def prefixed_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The whole app mounted under PREFIX inside another app (whose lifespan
    runs the monitor's): nothing answers outside the prefix. `url` ends with
    the prefix."""
    inner = create_app(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with inner.router.lifespan_context(inner):
            yield

    outer = FastAPI(lifespan=lifespan)
    outer.mount(PREFIX, inner)
    async with serve(outer) as url:
        yield LiveServer(inner, url + PREFIX)
