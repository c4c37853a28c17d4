"""thread_summaries / list_threads: one row per conversation with its turns,
failed turns, last activity, p50/p99 turn duration and tokens; and GET
/threads on it."""

import json
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import finished, started, write
from tests.psql import psql


async def turn(
    db: asyncpg.Connection,
    conversation_id: str,
    *,
    ago_s: float,
    status: str = "completed",
    duration_s: float = 0.1,
    user_id: str = "u1",
    tokens: int = 0,
    request: str = "hello",
) -> str:
    run = started(
        user_id=user_id, conversation_id=conversation_id, ago_s=ago_s, request_message=request
    )
    done = finished(run, status=status, duration_s=duration_s)
    await write(db, run, done)
    if tokens:
        await db.execute(
            "UPDATE execution_logs SET input_tokens = $2, output_tokens = $3, total_tokens = $4"
            " WHERE id = $1",
            run.execution_id,
            tokens // 2,
            tokens - tokens // 2,
            tokens,
        )
    return run.execution_id


async def threads(db: asyncpg.Connection, **args: Any) -> dict[str, Any]:
    params = {"hours": 24, "user_id": None, "limit": 50, "offset": 0, **args}
    return json.loads(
        await db.fetchval(
            "SELECT list_threads($1, $2, $3, $4)::text",
            params["hours"],
            params["user_id"],
            params["limit"],
            params["offset"],
        )
    )


async def test_a_thread_counts_its_turns_and_failed_turns_and_sums_tokens(
    db: asyncpg.Connection,
) -> None:
    await turn(db, "c1", ago_s=30, tokens=10)
    await turn(db, "c1", ago_s=20, status="failed", tokens=4)
    await turn(db, "c1", ago_s=10, status="partial", request="last question")

    (thread,) = (await threads(db))["threads"]

    assert (thread["conversation_id"], thread["turns"]) == ("c1", 3)
    assert (thread["failed_turns"], thread["partial_turns"], thread["running_turns"]) == (1, 1, 0)
    assert (thread["input_tokens"], thread["output_tokens"], thread["total_tokens"]) == (7, 7, 14)
    assert (thread["last_status"], thread["last_request"]) == ("partial", "last question")


async def test_threads_come_latest_activity_first(db: asyncpg.Connection) -> None:
    await turn(db, "old", ago_s=300)
    await turn(db, "new", ago_s=100)
    await turn(db, "old-but-active", ago_s=400)
    await turn(db, "old-but-active", ago_s=50)

    assert [t["conversation_id"] for t in (await threads(db))["threads"]] == [
        "old-but-active",
        "new",
        "old",
    ]


async def test_p50_and_p99_are_of_the_turns_durations(db: asyncpg.Connection) -> None:
    for i, seconds in enumerate([0.1, 0.2, 0.3, 0.4, 10.0]):
        await turn(db, "c1", ago_s=100 - i, duration_s=seconds)

    (thread,) = (await threads(db))["threads"]

    assert thread["p50_duration_ms"] == 300
    assert 9000 < thread["p99_duration_ms"] <= 10000


async def test_the_user_filter_keeps_that_users_threads(db: asyncpg.Connection) -> None:
    await turn(db, "c-ada", ago_s=10, user_id="ada")
    await turn(db, "c-bob", ago_s=10, user_id="bob")

    body = await threads(db, user_id="ada")

    assert [t["conversation_id"] for t in body["threads"]] == ["c-ada"]


async def test_threads_page_with_a_total(db: asyncpg.Connection) -> None:
    for i in range(5):
        await turn(db, f"c{i}", ago_s=100 - i)

    body = await threads(db, limit=2, offset=2)

    assert (body["total"], body["offset"], body["limit"]) == (5, 2, 2)
    assert [t["conversation_id"] for t in body["threads"]] == ["c2", "c1"]


async def test_turns_older_than_the_window_are_left_out(db: asyncpg.Connection) -> None:
    await turn(db, "c1", ago_s=3 * 3600)
    await turn(db, "c1", ago_s=60)

    (thread,) = (await threads(db, hours=1))["threads"]

    assert thread["turns"] == 1


async def test_a_page_over_200_is_refused(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError):
        await threads(db, limit=201)


async def test_a_psql_user_reads_threads_as_a_table(
    db: asyncpg.Connection, database_url: str
) -> None:
    await turn(db, "c1", ago_s=20)
    await turn(db, "c1", ago_s=10, status="failed")

    rows = psql(
        database_url,
        "SELECT conversation_id, turns, failed_turns FROM thread_summaries(24)",
    )

    assert rows == [["c1", "2", "1"]]


async def test_get_threads_answers_a_page(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await turn(db, "c1", ago_s=10, user_id="ada")

    answer = await client.get("/api/v1/monitoring/threads", params={"user_id": "ada"})

    assert answer.status_code == 200
    assert [t["conversation_id"] for t in answer.json()["threads"]] == ["c1"]


async def test_get_threads_refuses_a_limit_over_200(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/monitoring/threads", params={"limit": 201})
    assert answer.status_code == 422
