"""Security: stream tickets instead of the token in the URL, no secret in the
access log, real security headers, health details only with the token, and a
blank token refused rather than taken as "no auth"."""

import logging

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from httpx_sse import aconnect_sse
from starlette.requests import Request

from app.config import Settings
from langgraph_execution_monitor.api.security import BearerToken, RedactSecrets, StreamTickets
from tests.conftest import LiveServer

TOKEN = "s3cret-token"
STREAM = "/api/v1/monitoring/stream"
TICKET = "/api/v1/monitoring/stream/ticket"


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.monitoring_api_token = TOKEN
    return settings


async def first_event(live_server: LiveServer, **request: object) -> tuple[int, str | None]:
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=10) as http,
        aconnect_sse(http, "GET", STREAM, **request) as source,  # type: ignore[arg-type]
    ):
        if source.response.status_code != 200:
            return source.response.status_code, None
        async for event in source.aiter_sse():
            return 200, event.event
    raise AssertionError("the stream ended without an event")


# -- stream tickets -----------------------------------------------------------


async def test_a_ticket_needs_the_token(client: httpx.AsyncClient) -> None:
    answer = await client.post(TICKET)

    assert answer.status_code == 401


async def test_a_ticket_opens_the_stream(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        ticket = (await http.post(TICKET, headers=bearer())).json()["ticket"]

    assert await first_event(live_server, params={"ticket": ticket}) == (200, "listener")


async def test_a_ticket_opens_the_stream_only_once(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        ticket = (await http.post(TICKET, headers=bearer())).json()["ticket"]
    await first_event(live_server, params={"ticket": ticket})

    assert await first_event(live_server, params={"ticket": ticket}) == (401, None)


def test_an_expired_ticket_is_refused() -> None:
    tickets = StreamTickets(lambda: TOKEN, ttl_s=-1)

    assert not tickets.redeem(tickets.issue())


def test_a_ticket_signed_with_another_token_is_refused() -> None:
    ours, theirs = StreamTickets(lambda: TOKEN), StreamTickets(lambda: "another-token")

    assert not ours.redeem(theirs.issue())


def test_a_ticket_from_another_worker_of_the_same_app_is_accepted() -> None:
    worker_a, worker_b = StreamTickets(lambda: TOKEN), StreamTickets(lambda: TOKEN)

    assert worker_b.redeem(worker_a.issue())


@pytest.mark.parametrize("forged", ["", "x", "1.2.3", "9999999999.nonce.bad-signature"])
def test_a_forged_ticket_is_refused(forged: str) -> None:
    assert not StreamTickets(lambda: TOKEN).redeem(forged)


# -- the access log -----------------------------------------------------------


async def test_the_access_token_never_reaches_the_access_log(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    access = logging.getLogger("uvicorn.access")
    level = access.level
    access.setLevel(logging.INFO)
    try:
        with caplog.at_level(logging.INFO, logger="uvicorn.access"):
            assert (await first_event(live_server, params={"access_token": TOKEN}))[0] == 200
    finally:
        access.setLevel(level)

    lines = [record.getMessage() for record in caplog.records if record.name == "uvicorn.access"]
    assert any("access_token=[redacted]" in line for line in lines), lines
    assert not any(TOKEN in line for line in lines)


def test_the_redaction_keeps_other_parameters() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", f"/stream?user_id=u1&access_token={TOKEN}&ticket=abc", "1.1", 200),
        None,
    )

    RedactSecrets().filter(record)

    assert record.getMessage() == (
        '1.2.3.4:5 - "GET /stream?user_id=u1&access_token=[redacted]&ticket=[redacted]'
        ' HTTP/1.1" 200'
    )


# -- security headers ---------------------------------------------------------


async def test_the_dashboard_sends_a_strict_content_security_policy(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/")

    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "path", ["/api/v1/monitoring/stats", "/api/v1/monitoring/logs/none", "/health", "/nowhere"]
)
async def test_api_answers_send_security_headers(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path, headers=bearer())

    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_the_dashboards_static_files_carry_the_page_policy(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/static/app.js")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert "script-src 'self'" in answer.headers["content-security-policy"]


@pytest.mark.parametrize("name", ["../config.py", "%2e%2e%2fapp.js", "nothere.js"])
async def test_only_the_dashboards_own_files_are_served(
    client: httpx.AsyncClient, name: str
) -> None:
    answer = await client.get(f"/static/{name}")

    assert answer.status_code == 404


# -- health -------------------------------------------------------------------


async def test_health_live_answers_while_the_database_does_not(app: FastAPI) -> None:
    # The reads' pool pointed at a port where no server listens.
    unreachable = await asyncpg.create_pool("postgres://nobody@127.0.0.1:9/none", min_size=0)
    monitor = app.state.monitoring.monitor
    real, monitor._read_pool = monitor._read_pool, unreachable
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            live = await http.get("/health/live")
            ready = await http.get("/health/ready")
    finally:
        monitor._read_pool = real
        await unreachable.close()

    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    assert ready.status_code == 503 and ready.json()["database"] == "unreachable"


async def test_health_details_need_the_token(client: httpx.AsyncClient) -> None:
    anonymous = (await client.get("/health/ready")).json()
    detailed = (await client.get("/health/ready", headers=bearer())).json()

    assert anonymous["writer"] == {"state": "ok"}
    assert "last_error" not in anonymous["writer"] and "last_error" not in anonymous["listener"]
    assert "last_error" in detailed["writer"] and "queued" in detailed["writer"]
    assert "fetch_errors" in detailed["listener"]


async def test_health_is_kept_as_readiness(client: httpx.AsyncClient) -> None:
    old = await client.get("/health", headers=bearer())
    ready = await client.get("/health/ready", headers=bearer())

    assert old.status_code == ready.status_code == 200
    assert old.json().keys() == ready.json().keys()


# -- the token itself ---------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_token_setting_is_refused(blank: str) -> None:
    with pytest.raises(ValueError, match="MONITORING_API_TOKEN is set but empty"):
        Settings(monitoring_api_token=blank, _env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("blank", ["", " "])
def test_a_blank_token_given_to_the_library_refuses_every_request(blank: str) -> None:
    check = BearerToken(lambda: blank)
    request = Request({"type": "http", "headers": [(b"authorization", f"Bearer {blank}".encode())]})

    assert not check.authorized(request)
