"""The dashboard mounted under a prefix (here the whole app under
/monitoring/, nothing answering outside it): the page's assets, its API calls
and its live stream all stay under the prefix."""

import asyncpg
import pytest
from playwright.async_api import Page, Request, expect

from tests.browser.helpers import by_testid, open_dashboard
from tests.conftest import LiveServer
from tests.factories import finished, started, write

pytestmark = pytest.mark.browser


async def test_the_dashboard_works_mounted_under_a_prefix(
    prefixed_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    earlier = started(request_message="Before the page loaded", ago_s=5)
    await write(db, earlier, finished(earlier))
    requested: list[str] = []

    def on_request(request: Request) -> None:
        requested.append(request.url)

    page.on("request", on_request)

    await open_dashboard(page, prefixed_server, path="/")
    await expect(by_testid(page, "log-row", id=earlier.execution_id)).to_be_visible()
    await expect(by_testid(page, "stat-total")).to_have_attribute("data-value", "1")

    late = started(request_message="After the page loaded")
    await write(db, late)
    await expect(by_testid(page, "log-row", id=late.execution_id)).to_have_attribute(
        "data-status", "running"
    )
    await by_testid(page, "log-row", id=earlier.execution_id).click()
    await expect(by_testid(page, "tree-panel").get_by_test_id("tree-node")).to_have_count(2)

    outside = [url for url in requested if not url.startswith(prefixed_server.url + "/")]
    assert outside == []
    kinds = {url.removeprefix(prefixed_server.url).split("?")[0] for url in requested}
    for expected in (
        "/static/app.js",
        "/static/tree.js",
        "/static/style.css",
        "/api/v1/monitoring/logs",
        "/api/v1/monitoring/stream",
        f"/api/v1/monitoring/logs/{earlier.execution_id}",
    ):
        assert expected in kinds, (expected, sorted(kinds))
