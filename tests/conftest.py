"""Test ground: a real PostgreSQL for every test.

The server is DATABASE_URL's when set (CI and this machine: PostgreSQL 15 on
127.0.0.1:5432), otherwise an embedded PostgreSQL 18 started for the session.
A template database is migrated once per session with the real dbmate binary;
each test gets its own copy of it, made ahead of time on a thread of its own
(see DatabaseCopies). Only databases this session created are dropped.
"""

import asyncio
import os
import shutil
import tempfile
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app.api.main import create_app
from app.config import Settings
from langgraph_execution_monitor.storage.embedded import start_embedded
from langgraph_execution_monitor.storage.migrate import migrate
from langgraph_execution_monitor.storage.urls import database_name, with_database
from langgraph_execution_monitor.writer import LogWriter, writer_pool_factory

# What a psql user following the README sets: the library's schema first.
SEARCH_PATH = {"search_path": "execution_monitor, public"}

SESSION_TAG = f"elm_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """An administrative URL of the PostgreSQL server the tests run against.
    At the end, every database this session created is dropped (they all
    start with SESSION_TAG), whichever fixtures or tests created them."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        asyncio.run(drop_session_databases(url))
        return
    parent = Path(tempfile.mkdtemp(prefix="elm-pg-"))
    server = start_embedded(parent / "data", delete_on_exit=True)
    try:
        yield server.get_uri("postgres")
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


async def drop_session_databases(url: str) -> None:
    admin = await asyncpg.connect(url)
    try:
        leftovers = await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", SESSION_TAG + "%"
        )
        for row in leftovers:
            await admin.execute(f'DROP DATABASE IF EXISTS "{row[0]}" WITH (FORCE)')
    finally:
        await admin.close()


async def create_database(
    server_url: str, *, name: str | None = None, template: str | None = None
) -> str:
    """Create a database of this session (dropped at its end); returns its URL."""
    name = name or f"{SESSION_TAG}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        await admin.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await admin.close()
    return with_database(server_url, name)


@pytest.fixture(scope="session")
async def template_database(server_url: str) -> str:
    """Name of a database migrated with dbmate, to copy per test."""
    name = f"{SESSION_TAG}_template"
    migrate(await create_database(server_url, name=name))
    return name


class DatabaseCopies:
    """Copies of the template, made ahead on threads of their own, and dropped
    there once their test is done.

    One CREATE DATABASE waits a few hundred milliseconds for the disk, longer
    than most tests run; a few made at once wait hardly longer than one. Made
    ahead, several at a time, they are mostly off the suite's path. Each copy
    is still fresh: made from the template, handed to one test, dropped
    (WITH FORCE) after it."""

    AHEAD = 4  # copies kept ready (or being made)
    THREADS = 3
    TAKE_TIMEOUT_S = 120.0

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url = server_url
        self.template = template
        self._ready: deque[str] = deque()
        self._to_drop: deque[str] = deque()
        self._changed = threading.Condition()
        self._creating = 0
        self._stopping = False
        self._error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._run, name=f"database-copies-{n}", daemon=True)
            for n in range(self.THREADS)
        ]
        for thread in self._threads:
            thread.start()

    def take(self) -> str:
        """The URL of a fresh copy, for one test alone (blocks until one is made)."""
        with self._changed:
            ready = self._changed.wait_for(
                lambda: self._ready or self._error is not None, self.TAKE_TIMEOUT_S
            )
            if self._error is not None:
                raise RuntimeError("making a copy of the template failed") from self._error
            if not ready:
                raise TimeoutError(f"no copy of the template in {self.TAKE_TIMEOUT_S} s")
            url = self._ready.popleft()
            self._changed.notify_all()
            return url

    def drop(self, url: str) -> None:
        """Drop a copy whose test is done (on the thread, in the background)."""
        with self._changed:
            self._to_drop.append(url)
            self._changed.notify_all()

    def close(self) -> None:
        """Drop what is waiting to be dropped, stop the threads; raise what they met."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(60)
        if self._error is not None:
            raise self._error

    def _next_job(self) -> tuple[str, str] | None:
        """("create", "") or ("drop", url); None once stopping with nothing to drop.
        A waiting test comes first, then drops, then copies made ahead."""
        with self._changed:
            while True:
                if self._stopping:
                    return ("drop", self._to_drop.popleft()) if self._to_drop else None
                wanted = self.AHEAD - len(self._ready) - self._creating
                if wanted > 0 and not (self._to_drop and self._ready):
                    self._creating += 1
                    return ("create", "")
                if self._to_drop:
                    return ("drop", self._to_drop.popleft())
                self._changed.wait()

    def _run(self) -> None:
        try:
            asyncio.run(self._work())
        except BaseException as error:
            with self._changed:
                self._error = error
                self._changed.notify_all()

    async def _work(self) -> None:
        admin = await asyncpg.connect(self.server_url)
        try:
            while (job := self._next_job()) is not None:
                kind, url = job
                if kind == "drop":
                    name = database_name(url)
                    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    continue
                name = f"{SESSION_TAG}_{uuid.uuid4().hex[:10]}"
                try:
                    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                finally:
                    with self._changed:
                        self._creating -= 1
                        self._changed.notify_all()
                with self._changed:
                    self._ready.append(with_database(self.server_url, name))
                    self._changed.notify_all()
        finally:
            await admin.close()


@pytest.fixture(scope="session")
def database_copies(server_url: str, template_database: str) -> Iterator[DatabaseCopies]:
    copies = DatabaseCopies(server_url, template_database)
    try:
        yield copies
    finally:
        copies.close()


@pytest.fixture
async def database_url(database_copies: DatabaseCopies) -> AsyncIterator[str]:
    """URL of a fresh, migrated database for this test alone (dropped after it)."""
    url = await asyncio.to_thread(database_copies.take)
    yield url
    database_copies.drop(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to this test's database, with the library's schema on its path
    (as the README tells psql users to set it)."""
    connection = await asyncpg.connect(database_url, server_settings=SEARCH_PATH)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def writer(database_url: str) -> AsyncIterator[LogWriter]:
    """A background writer for this test's database, stopped (drained) after it."""
    log_writer = LogWriter(
        writer_pool_factory(database_url, 2),
        flush_interval_s=0.01,
        stale_after_s=None,
        partition_maintenance_interval_s=None,  # tests write runs of any age: no retention
    )
    log_writer.start()
    yield log_writer
    await log_writer.stop(5)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """App settings for this test's database (tests override fields freely)."""
    return Settings(
        database_url=database_url,
        migrate_on_start=False,  # the template is migrated already
        monitoring_api_token=None,
        writer_flush_interval_s=0.01,
        stale_check_interval_s=3600,
        partition_maintenance_interval_s=None,  # tests write runs of any age: no retention
        _env_file=None,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The FastAPI app with its lifespan running (pool, writer, listener)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Real HTTP requests through the ASGI app."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


@dataclass
class LiveServer:
    app: FastAPI
    url: str


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The app served by a real uvicorn on a free local port (same event loop,
    so tests can reach into app.state)."""
    application = create_app(settings)
    config = uvicorn.Config(
        application, host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises the startup error
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(application, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
