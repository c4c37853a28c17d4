"""The read API's limits live in one place: limits.py, which the API's validation
reads, mirrored by monitoring_limits(), which the SQL checks read."""

import json

import asyncpg
import httpx
import pytest

from langgraph_execution_monitor import limits
from langgraph_execution_monitor.storage import queries

LOGS = "/api/v1/monitoring/logs"


async def test_the_sql_limits_are_the_python_limits(db: asyncpg.Connection) -> None:
    assert json.loads(await queries.monitoring_limits(db)) == limits.as_dict()


async def test_the_sql_checks_use_the_limits(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match=f"1 and {limits.PAGE_LIMIT_MAX}"):
        await queries.list_executions_v2(db, limit=limits.PAGE_LIMIT_MAX + 1)


async def test_the_api_documents_the_limits(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    parameters = {p["name"]: p["schema"] for p in spec["paths"][LOGS]["get"]["parameters"]}

    def maximum(name: str) -> int:
        schema = parameters[name]
        options = schema.get("anyOf", [schema])
        return next(option.get("maximum", option.get("maxLength")) for option in options)

    assert maximum("limit") == limits.PAGE_LIMIT_MAX
    assert maximum("hours") == limits.HOURS_MAX
    assert maximum("offset") == limits.OFFSET_MAX
    assert maximum("q") == limits.SEARCH_MAX_CHARS
    assert maximum("user_id") == limits.ID_MAX_CHARS


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", limits.PAGE_LIMIT_MAX),
        ("hours", limits.HOURS_MAX),
        ("offset", limits.OFFSET_MAX),
    ],
)
async def test_the_api_accepts_each_limit_itself(
    client: httpx.AsyncClient, name: str, value: int
) -> None:
    assert (await client.get(LOGS, params={name: value})).status_code == 200


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", limits.PAGE_LIMIT_MAX + 1),
        ("hours", limits.HOURS_MAX + 1),
        ("offset", limits.OFFSET_MAX + 1),
        ("q", "x" * (limits.SEARCH_MAX_CHARS + 1)),
    ],
)
async def test_the_api_refuses_one_past_each_limit(
    client: httpx.AsyncClient, name: str, value: object
) -> None:
    answer = await client.get(LOGS, params={name: value})

    assert answer.status_code == 422
    assert name in answer.text
