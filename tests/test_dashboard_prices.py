"""The dashboard's price table: given to `create_dashboard_router(prices=...)`
(or MODEL_PRICES in the app), validated when the router is made, and served
beside the page as dashboard-config.json, without the token."""

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from app.api.main import create_app
from app.config import Settings
from langgraph_execution_monitor.api import create_dashboard_router


async def get_config(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://host") as http:
        return await http.get(path)


async def test_the_price_table_is_served_beside_the_page_under_its_prefix() -> None:
    app = FastAPI()
    prices = {
        "gpt-4o": {"input": 2.5, "output": 10},
        "gpt-4o-mini*": {"input": 0.15, "output": 0.6},
    }
    app.include_router(create_dashboard_router("/monitoring", prices=prices, currency="EUR"))

    answer = await get_config(app, "/monitoring/dashboard-config.json")

    assert answer.status_code == 200
    assert answer.json() == {
        "prices": {
            "gpt-4o": {"input": 2.5, "output": 10.0},
            "gpt-4o-mini*": {"input": 0.15, "output": 0.6},
        },
        "currency": "EUR",
    }
    assert "default-src 'none'" in answer.headers["content-security-policy"]


async def test_without_prices_the_table_is_empty() -> None:
    app = FastAPI()
    app.include_router(create_dashboard_router())

    assert (await get_config(app, "/dashboard-config.json")).json() == {
        "prices": {},
        "currency": "USD",
    }


@pytest.mark.parametrize(
    "prices",
    [
        {"m": {"input": -1, "output": 1}},
        {"m": {"input": 1}},
        {"m": {"input": float("nan"), "output": 1}},
        {"m": {"input": 1, "output": 1, "cached": 1}},
        {" ": {"input": 1, "output": 1}},
    ],
    ids=["negative", "missing", "nan", "unknown-field", "blank-name"],
)
def test_a_bad_price_is_refused_when_the_router_is_made(prices: dict) -> None:
    with pytest.raises(ValidationError):
        create_dashboard_router(prices=prices)


def test_a_currency_that_is_not_an_iso_code_is_refused() -> None:
    with pytest.raises(ValidationError):
        create_dashboard_router(prices={}, currency="dollars")


async def test_model_prices_from_the_environment_reach_the_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODEL_PRICES", '{"fake-gpt": {"input": 0.5, "output": 1.5}}')
    monkeypatch.setenv("MODEL_PRICES_CURRENCY", "GBP")
    settings = Settings(database_url="postgres://nobody@127.0.0.1:1/none", _env_file=None)

    answer = await get_config(create_app(settings), "/dashboard-config.json")

    assert answer.json() == {
        "prices": {"fake-gpt": {"input": 0.5, "output": 1.5}},
        "currency": "GBP",
    }
