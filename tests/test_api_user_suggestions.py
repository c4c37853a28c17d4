"""GET /users: the user filter's suggestions, distinct ids by prefix, limited."""

from typing import Any

import asyncpg
import httpx

from langgraph_execution_monitor import limits
from tests.factories import started, write

USERS = "/api/v1/monitoring/users"


async def get(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    answer = await client.get(USERS, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_suggestions_are_the_distinct_ids_with_the_prefix_in_order(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    users = ["alice", "ali", "alice", "bob", "alina", "alice"]
    await write(db, *(started(user_id=u, ago_s=i) for i, u in enumerate(users)))

    assert (await get(client, prefix="ali"))["users"] == ["ali", "alice", "alina"]


async def test_suggestions_stop_at_the_limit(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await write(db, *(started(user_id=f"u{i:02}") for i in range(12)))

    assert (await get(client, prefix="u", limit=5))["users"] == [f"u{i:02}" for i in range(5)]


async def test_a_prefix_with_like_wildcards_matches_them_literally(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await write(db, started(user_id="a_b"), started(user_id="axb"), started(user_id="a%c"))

    assert (await get(client, prefix="a_"))["users"] == ["a_b"]
    assert (await get(client, prefix="a%"))["users"] == ["a%c"]


async def test_an_empty_prefix_suggests_the_first_ids(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await write(db, started(user_id="zed"), started(user_id="amy"))

    assert (await get(client))["users"] == ["amy", "zed"]


async def test_a_limit_over_the_maximum_is_422(client: httpx.AsyncClient) -> None:
    too_many = limits.USER_SUGGESTIONS_MAX + 1

    assert (await client.get(USERS, params={"limit": too_many})).status_code == 422
