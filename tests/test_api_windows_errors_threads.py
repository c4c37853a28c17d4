"""GET /errors and /threads for the windows the listing takes (since / until,
older than 168 hours too) and, for threads, a user-id prefix."""

import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import finished, started, write
from tests.test_sql_error_groups import fail

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ERRORS = "/api/v1/monitoring/errors"
THREADS = "/api/v1/monitoring/threads"
DAY = 86400


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_errors_of_a_window_weeks_ago_are_grouped(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    now = time.time()
    old = await fail(db, "old failure", ago_s=30 * DAY)
    await fail(db, "new failure", ago_s=60)

    body = await get(client, ERRORS, since=iso(now - 31 * DAY), until=iso(now - 29 * DAY))

    (group,) = body["groups"]
    assert (group["pattern"], group["recent_execution_ids"]) == ("old failure", [old])


async def test_a_window_longer_than_a_week_has_wider_buckets(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    now = time.time()
    await fail(db, "x", ago_s=13 * DAY)
    await fail(db, "x", ago_s=60)

    body = await get(client, ERRORS, since=iso(now - 14 * DAY))

    (group,) = body["groups"]
    assert len(group["hourly"]) == 168 and sum(group["hourly"]) == 2
    assert group["hourly"][-1] == 1
    assert body["bucket_hours"] > 1


async def test_errors_with_hours_alone_answer_as_before(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await fail(db, "x", ago_s=60)

    body = await get(client, ERRORS, hours=6)

    assert set(body) == {"time_range_hours", "groups"}
    assert len(body["groups"][0]["hourly"]) == 6


async def test_threads_of_a_window_weeks_ago_are_listed(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    now = time.time()
    old = started(conversation_id="conv-old", ago_s=20 * DAY)
    new = started(conversation_id="conv-new", ago_s=60)
    await write(db, old, finished(old), new, finished(new))

    body = await get(client, THREADS, since=iso(now - 21 * DAY), until=iso(now - 19 * DAY))

    assert [t["conversation_id"] for t in body["threads"]] == ["conv-old"]


async def test_threads_follow_a_user_prefix(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    runs = [
        started(user_id=user, conversation_id=f"conv-{user}", ago_s=i)
        for i, user in enumerate(["alice", "alina", "bob"])
    ]
    await write(db, *runs)

    body = await get(client, THREADS, user_id_prefix="ali")

    assert sorted(t["user_id"] for t in body["threads"]) == ["alice", "alina"]
