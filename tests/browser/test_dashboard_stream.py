"""The page's live stream: with a token it opens the stream with a single-use
ticket (POST stream/ticket, then ?ticket=), never with the token in a URL; a
`reset` event from the server reloads the listing."""

import asyncpg
import pytest
from playwright.async_api import Page, Request, Route, expect

from app.config import Settings
from tests.browser.conftest import eventually
from tests.browser.helpers import by_testid, open_dashboard
from tests.conftest import LiveServer
from tests.factories import finished, started, write

pytestmark = pytest.mark.browser

TOKEN = "s3cret-token-value"


@pytest.fixture
def token_settings(settings: Settings) -> Settings:
    settings.monitoring_api_token = TOKEN
    return settings


async def sign_in(page: Page) -> None:
    await page.add_init_script(f"sessionStorage.setItem('execution-monitor.token', {TOKEN!r})")


async def test_with_a_token_the_stream_opens_with_a_ticket_not_the_token(
    token_settings: Settings, live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    requests: list[Request] = []
    page.on("request", lambda r: requests.append(r))
    await sign_in(page)
    await open_dashboard(page, live_server)

    run = started(user_id="live-with-ticket")
    await write(db, run, finished(run))
    await expect(by_testid(page, "log-row", id=run.execution_id)).to_have_attribute(
        "data-status", "completed"
    )

    streams = [r for r in requests if "/stream" in r.url]
    assert [(r.method, r.url.split("?")[0].rsplit("/", 2)[-2:]) for r in streams][:2] == [
        ("POST", ["stream", "ticket"]),
        ("GET", ["monitoring", "stream"]),
    ]
    assert "ticket=" in streams[1].url
    assert all(TOKEN not in r.url and "access_token" not in r.url for r in requests)


async def test_a_reset_event_reloads_the_listing(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    listings: list[str] = []
    page.on("request", lambda r: listings.append(r.url) if "/monitoring/logs?" in r.url else None)

    async def resume_from_an_unknown_event(route: Route) -> None:
        # An id this database never had: the server answers with `reset`.
        await route.continue_(headers={**route.request.headers, "last-event-id": "999999"})

    await page.route("**/api/v1/monitoring/stream*", resume_from_an_unknown_event)
    await open_dashboard(page, live_server)

    async def count() -> int:
        return len(listings)

    # The first load, then the reload the reset asked for.
    await eventually(count, lambda n: n >= 2, what="the listing to be reloaded")
