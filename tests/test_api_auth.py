"""The token: with `monitoring_api_token` set, the monitoring API, the stream
and the chat endpoint answer 401 without it or with a wrong one, and 200 with
it (the stream also takes a ticket, or `?access_token=`, for EventSource).
/health, /, /metrics stay open (health without details). Without a token
everything is open."""

import httpx
import pytest
from httpx_sse import aconnect_sse

from app.api.main import create_app
from app.config import Settings
from tests.conftest import LiveServer

TOKEN = "s3cret-token"
STREAM = "/api/v1/monitoring/stream"
PROTECTED = [
    "/api/v1/monitoring/logs",
    "/api/v1/monitoring/logs/no-such-execution",
    "/api/v1/monitoring/conversations/conv-1/logs",
    "/api/v1/monitoring/stats",
    "/api/v1/monitoring/nodes",
    "/api/v1/monitoring/users",
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.monitoring_api_token = TOKEN
    return settings


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", [*PROTECTED, STREAM])
async def test_a_request_without_the_token_is_401(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", [*PROTECTED, STREAM])
async def test_a_request_with_a_wrong_token_is_401(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path, headers=bearer("not-" + TOKEN))

    assert answer.status_code == 401


@pytest.mark.parametrize("path", PROTECTED)
async def test_a_request_with_the_bearer_token_is_answered(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(path, headers=bearer(TOKEN))

    assert answer.status_code == (404 if path.endswith("no-such-execution") else 200)


async def test_a_token_sent_with_another_scheme_is_401(client: httpx.AsyncClient) -> None:
    answer = await client.get(PROTECTED[0], headers={"Authorization": f"Basic {TOKEN}"})

    assert answer.status_code == 401


@pytest.mark.parametrize("path", PROTECTED)
async def test_the_access_token_query_parameter_opens_only_the_stream(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(path, params={"access_token": TOKEN})

    assert answer.status_code == 401


async def test_the_stream_with_a_wrong_access_token_is_401(client: httpx.AsyncClient) -> None:
    answer = await client.get(STREAM, params={"access_token": "wrong"})

    assert answer.status_code == 401


async def first_event_with(live_server: LiveServer, **request: object) -> str:
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=10) as http,
        aconnect_sse(http, "GET", STREAM, **request) as source,  # type: ignore[arg-type]
    ):
        assert source.response.status_code == 200
        async for event in source.aiter_sse():
            return event.event
    raise AssertionError("the stream ended without an event")


async def test_the_stream_with_the_bearer_token_streams(live_server: LiveServer) -> None:
    assert await first_event_with(live_server, headers=bearer(TOKEN)) == "listener"


async def test_the_stream_with_the_access_token_parameter_streams(
    live_server: LiveServer,
) -> None:
    assert await first_event_with(live_server, params={"access_token": TOKEN}) == "listener"


@pytest.mark.parametrize("path", ["/health", "/", "/metrics", "/openapi.json"])
async def test_system_pages_are_open_with_a_token_configured(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(path)

    assert answer.status_code == 200


async def test_chat_needs_the_token_when_one_is_configured(client: httpx.AsyncClient) -> None:
    without = await client.post("/api/v1/chat/v2", json={"message": "hi", "user_id": "u1"})
    with_it = await client.post(
        "/api/v1/chat/v2", json={"message": "hi", "user_id": "u1"}, headers=bearer(TOKEN)
    )

    assert (without.status_code, with_it.status_code) == (401, 200)


async def test_chat_can_be_left_open_with_a_token_configured(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"chat_requires_token": False}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        answer = await http.post("/api/v1/chat/v2", json={"message": "hi", "user_id": "u1"})

    assert answer.status_code == 200


async def test_without_a_token_configured_the_monitoring_api_is_open(
    settings: Settings,
) -> None:
    app = create_app(settings.model_copy(update={"monitoring_api_token": None}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        answers = [await http.get(path) for path in PROTECTED]

    assert [answer.status_code for answer in answers] == [200, 404, 200, 200, 200, 200]
