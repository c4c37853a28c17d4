"""GET /logs/export: the listing's rows for the same filters, as CSV or JSON,
newest first, streamed in pages (export_executions reads after a cursor), with
the same token as the listing."""

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app.api.main import create_app
from app.config import Settings
from langgraph_execution_monitor.rows import TextCleaner, batch_columns
from langgraph_execution_monitor.storage import queries
from tests.factories import finished, started, write

EXPORT = "/api/v1/monitoring/logs/export"


async def seed(db: asyncpg.Connection) -> list[str]:
    """Three runs, newest last: completed (ada), failed (bob), completed (ada)."""
    ids = []
    for i, (user, status) in enumerate(
        [("ada", "completed"), ("bob", "failed"), ("ada", "completed")]
    ):
        run = started(user_id=user, ago_s=30 - i, request_message=f"request {i}")
        await write(
            db, run, finished(run, status=status, error_summary="x" if status == "failed" else None)
        )
        ids.append(run.execution_id)
    return ids


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_csv_export_has_the_listings_fields_newest_first(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await seed(db)

    answer = await client.get(EXPORT, params={"format": "csv"})

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="executions.csv"'
    rows = read_csv(answer.text)
    assert [r["id"] for r in rows] == ids[::-1]
    assert list(rows[0])[:4] == ["id", "conversation_id", "user_id", "status"]
    assert rows[0]["request_message"] == "request 2"


async def test_the_json_export_holds_the_listings_rows(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await seed(db)

    exported = (await client.get(EXPORT, params={"format": "json"})).json()

    listing = (await client.get("/api/v1/monitoring/logs")).json()["logs"]
    assert exported == listing


async def test_the_export_takes_the_listings_filters(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await seed(db)

    failed = (await client.get(EXPORT, params={"format": "json", "status": "failed"})).json()
    ada = (await client.get(EXPORT, params={"format": "json", "user_id": "ada"})).json()
    searched = (await client.get(EXPORT, params={"format": "json", "q": "request 1"})).json()

    assert [r["id"] for r in failed] == [ids[1]]
    assert [r["id"] for r in ada] == [ids[2], ids[0]]
    assert [r["id"] for r in searched] == [ids[1]]


async def test_an_export_larger_than_a_page_is_complete_and_in_order(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    runs = [started(ago_s=3000 - i) for i in range(2500)]
    columns, _ = batch_columns(runs, TextCleaner(1000))
    await queries.log_batch_v2(db, columns)

    rows = read_csv((await client.get(EXPORT)).text)

    assert [r["id"] for r in rows] == [run.execution_id for run in reversed(runs)]


async def test_max_rows_stops_the_export(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    ids = await seed(db)

    rows = (await client.get(EXPORT, params={"format": "json", "max_rows": 2})).json()

    assert [r["id"] for r in rows] == [ids[2], ids[1]]


async def test_an_empty_export_is_a_header_or_an_empty_array(client: httpx.AsyncClient) -> None:
    assert read_csv((await client.get(EXPORT)).text) == []
    assert (await client.get(EXPORT)).text.startswith("id,conversation_id,")
    assert (await client.get(EXPORT, params={"format": "json"})).json() == []


async def test_text_a_spreadsheet_would_run_as_a_formula_is_quoted(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    run = started(request_message='=HYPERLINK("http://evil")', user_id="@ada")
    await write(db, run, finished(run))

    (row,) = read_csv((await client.get(EXPORT)).text)

    assert row["request_message"] == '\'=HYPERLINK("http://evil")'
    assert row["user_id"] == "'@ada"


async def test_bad_parameters_are_422(client: httpx.AsyncClient) -> None:
    for params in ({"format": "xml"}, {"hours": 169}, {"status": "nope"}, {"max_rows": 0}):
        assert (await client.get(EXPORT, params=params)).status_code == 422, params


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update={"monitoring_api_token": "s3cret"}))
    async with app.router.lifespan_context(app):
        yield app


async def test_the_export_needs_the_token_the_listing_needs(guarded: FastAPI) -> None:
    transport = httpx.ASGITransport(app=guarded)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        refused = await http.get(EXPORT)
        allowed = await http.get(EXPORT, headers={"Authorization": "Bearer s3cret"})

    assert (refused.status_code, allowed.status_code) == (401, 200)


async def test_the_export_takes_since_and_until(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    old = started(ago_s=40 * 86400)
    await write(db, old, finished(old), started(ago_s=5))
    since = datetime.fromtimestamp(old.started_at - 60, UTC).isoformat()
    until = datetime.fromtimestamp(old.started_at + 60, UTC).isoformat()

    answer = await client.get(EXPORT, params={"format": "json", "since": since, "until": until})

    assert [row["id"] for row in answer.json()] == [old.execution_id]


async def test_the_export_takes_the_user_prefix(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await write(db, started(user_id="alice"), started(user_id="bob"))

    answer = await client.get(EXPORT, params={"format": "json", "user_id_prefix": "ali"})

    assert [row["user_id"] for row in answer.json()] == ["alice"]


async def test_the_export_searches_what_the_listing_searches(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await seed(db)
    run = started()
    await write(db, run, finished(run, status="failed", failed_nodes=["data_checker"]))

    answer = await client.get(EXPORT, params={"format": "json", "q": "data_check"})

    assert [row["id"] for row in answer.json()] == [run.execution_id]
