"""Reads under database faults answer 503, soon: a read behind a held lock
gives up at the statement timeout, and asyncpg's own client errors (a
connection left in a broken state after a kill) are 503, not 500."""

import asyncio

import asyncpg
import httpx
import pytest

from app.config import Settings
from langgraph_execution_monitor.storage import queries


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.read_statement_timeout_s = 0.5
    return settings


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/monitoring/logs",
        "/api/v1/monitoring/stats",
        "/api/v1/monitoring/logs/some-id",
        "/api/v1/monitoring/conversations/c1/logs",
    ],
)
async def test_a_read_behind_a_held_lock_is_503_at_the_statement_timeout(
    client: httpx.AsyncClient, db: asyncpg.Connection, path: str
) -> None:
    async with db.transaction():
        await db.execute("LOCK TABLE execution_logs IN ACCESS EXCLUSIVE MODE")
        # Bounded only so that a missing timeout fails instead of hanging.
        answer = await asyncio.wait_for(client.get(path), 20)

    assert answer.status_code == 503
    assert "too slow" in answer.json()["detail"]
    assert answer.headers["retry-after"] == "5"


async def test_reads_work_again_once_the_lock_is_released(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    async with db.transaction():
        await db.execute("LOCK TABLE execution_logs IN ACCESS EXCLUSIVE MODE")
        refused = await asyncio.wait_for(client.get("/api/v1/monitoring/stats"), 20)

    answered = await client.get("/api/v1/monitoring/stats")

    assert (refused.status_code, answered.status_code) == (503, 200)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InternalClientError("cannot switch to state 12; another operation is in progress"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        ConnectionResetError("Connection reset by peer"),
        asyncpg.InsufficientPrivilegeError("permission denied for function execution_stats"),
        asyncpg.UndefinedFunctionError("function execution_stats(integer) does not exist"),
    ],
    ids=["internal-client", "connection-gone", "reset", "privilege", "schema"],
)
async def test_client_and_server_side_database_failures_are_503(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    async def broken(*_: object) -> str:
        raise error

    monkeypatch.setattr(queries, "execution_stats", broken)

    answer = await client.get("/api/v1/monitoring/stats")

    assert answer.status_code == 503
    assert answer.json() == {"detail": "database unavailable, try again shortly"}


async def test_a_database_refusing_a_parameter_is_422(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*_: object) -> str:
        raise asyncpg.InvalidParameterValueError("hours must be between 1 and 168")

    monkeypatch.setattr(queries, "execution_stats", refused)

    answer = await client.get("/api/v1/monitoring/stats")

    assert answer.status_code == 422
    assert answer.json() == {"detail": "hours must be between 1 and 168"}
