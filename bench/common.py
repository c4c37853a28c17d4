"""Shared by the benchmarks: a scratch database, medians, a results table."""

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from langgraph_execution_monitor.storage.embedded import start_embedded
from langgraph_execution_monitor.storage.migrate import migrate
from langgraph_execution_monitor.storage.urls import with_database


@asynccontextmanager
async def scratch_database(prefix: str, *, keep: bool = False) -> AsyncIterator[str]:
    """A freshly migrated database on DATABASE_URL's server (or an embedded
    one), dropped afterwards unless `keep` (DATABASE_URL's server only). Yields its URL."""
    server = None
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        server = start_embedded(
            Path(tempfile.mkdtemp(prefix="elm-bench-")) / "data", delete_on_exit=True
        )
        server_url = server.get_uri("postgres")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(server_url, name)
        migrate(url)
        yield url
    finally:
        if not (keep and server is None):
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        if server is not None:
            server.cleanup()


async def median_ms(run: Callable[[], Awaitable[object]], repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        await run()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        await run()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def print_table(title: str, rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"\n{title}")
    for index, row in enumerate(rows):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))
