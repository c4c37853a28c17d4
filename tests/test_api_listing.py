"""GET /logs beyond the seed, over HTTP: since/until, the cursor, the bounded
offset, the capped total, search and the user-id prefix; their 422s."""

import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import httpx
import pytest

from langgraph_execution_monitor import limits
from tests.factories import started, write

LOGS = "/api/v1/monitoring/logs"


def iso(epoch: float, zone: timezone = UTC) -> str:
    return datetime.fromtimestamp(epoch, zone).isoformat()


async def get(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    answer = await client.get(LOGS, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_window_in_another_time_zone_means_the_same_instant(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    now = time.time()
    run = started(started_at=now - 3600)
    await write(db, run, started(started_at=now - 3 * 3600))
    plus_two = timezone(timedelta(hours=2))

    body = await get(client, since=iso(now - 2 * 3600, plus_two), until=iso(now, plus_two))

    assert [log["id"] for log in body["logs"]] == [run.execution_id]


async def test_a_window_without_a_zone_is_utc(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    now = time.time()
    run = started(started_at=now - 3600)
    await write(db, run, started(started_at=now - 3 * 3600))
    naive = datetime.fromtimestamp(now - 2 * 3600, UTC).replace(tzinfo=None).isoformat()

    assert [log["id"] for log in (await get(client, since=naive))["logs"]] == [run.execution_id]


async def test_since_reaches_runs_older_than_168_hours(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    now = time.time()
    old = started(started_at=now - 60 * 86400)
    await write(db, old)

    body = await get(client, since=iso(now - 61 * 86400), until=iso(now - 59 * 86400))

    assert [log["id"] for log in body["logs"]] == [old.execution_id]


async def test_next_cursor_pages_through_every_run(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    runs = [started(ago_s=index) for index in range(5)]
    await write(db, *runs)

    seen, cursor = [], None
    while True:
        body = await get(client, limit=2, **({"before": cursor} if cursor else {}))
        seen += [log["id"] for log in body["logs"]]
        if (cursor := body["next_cursor"]) is None:
            break

    assert seen == [run.execution_id for run in runs]


async def test_a_capped_total_says_so(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO execution_logs (id, user_id, request_message, status, started_at) "
        "SELECT 'bulk-' || g, 'bulk', 'bulk', 'completed', now() - interval '1 minute' "
        "FROM generate_series(1, $1) AS g",
        limits.TOTAL_CAP + 1,
    )

    body = await get(client, limit=1)

    assert (body["total"], body["total_capped"]) == (limits.TOTAL_CAP, True)


async def test_search_finds_the_error_summary(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    run = started()
    await write(db, run, started(request_message="fine"))
    await db.execute(
        "UPDATE execution_logs SET status = 'failed', error_summary = $2 WHERE id = $1",
        run.execution_id,
        "'NoneType' object has no attribute 'get'",
    )

    assert [log["id"] for log in (await get(client, q="NoneType"))["logs"]] == [run.execution_id]


async def test_user_id_prefix_filters_the_listing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    mine = started(user_id="acme:ada")
    await write(db, mine, started(user_id="other:bob"))

    body = await get(client, user_id_prefix="acme:")

    assert [log["id"] for log in body["logs"]] == [mine.execution_id]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"offset": limits.OFFSET_MAX + 1}, "offset"),
        ({"since": "yesterday"}, "since"),
        ({"until": "0.5"}, "ISO-8601"),
        ({"since": "2026-11-01"}, "ISO-8601"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"since": "0001-01-01T00:00:00+14:00"}, "out of range"),
        ({"hours": 2, "since": "2026-01-01T00:00:00Z"}, "hours cannot be combined with since"),
        (
            {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            "must be before until",
        ),
        ({"before": "bm90LWEtY3Vyc29y"}, "before must be a next_cursor"),
        ({"before": "not a cursor!"}, "before"),
        ({"user_id_prefix": ""}, "user_id_prefix"),
        ({"user_id_prefix": "a\x00"}, "user_id_prefix"),
    ],
)
async def test_bad_listing_parameters_are_422_saying_why(
    client: httpx.AsyncClient, params: dict[str, Any], message: str
) -> None:
    answer = await client.get(LOGS, params=params)

    assert answer.status_code == 422
    assert message in answer.text
