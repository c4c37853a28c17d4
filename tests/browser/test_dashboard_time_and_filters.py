"""Time, search and the user filter in the page, in Chromium against a live
server: window presets and a custom range (kept in the URL, deep links
working), a search over everything the API searches, a user filter by prefix
with suggestions, and the overview following the filters, saying which."""

import re
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.helpers import (
    NONE_GET,
    by_testid,
    open_dashboard,
    run_demo_agent,
    table_shows,
)
from tests.browser.test_dashboard_hostile_text import MARKUP, assert_inert
from tests.conftest import LiveServer
from tests.factories import finished, started, write

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

DAY = 86400


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def local_input(epoch: float) -> str:
    """A datetime-local input's value in the page's zone (the browser's: the test's)."""
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%dT%H:%M")


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.fixture
async def aged_runs(live_server: LiveServer, db: asyncpg.Connection) -> dict[str, str]:
    """Runs 1 hour, 10 days and 90 days old."""
    runs = {
        "hour": started(request_message="An hour ago", ago_s=3600 - 60),
        "ten_days": started(request_message="Ten days ago", ago_s=10 * DAY),
        "ninety_days": started(request_message="Ninety days ago", ago_s=90 * DAY),
    }
    await write(db, *runs.values(), *(finished(run) for run in runs.values()))
    return {name: run.execution_id for name, run in runs.items()}


# ------------------------------------------------------------------- time


async def test_a_longer_preset_reaches_older_runs_and_is_kept_in_the_url(
    live_server: LiveServer, aged_runs: dict[str, str], page: Page
) -> None:
    await open_dashboard(page, live_server)
    await table_shows(page, {aged_runs["hour"]}, "the last 24 hours")

    await by_testid(page, "hours-filter").select_option("30d")

    await table_shows(page, {aged_runs["hour"], aged_runs["ten_days"]}, "the last 30 days")
    assert query(page)["range"] == ["30d"]


async def test_all_time_shows_runs_of_any_age(
    live_server: LiveServer, aged_runs: dict[str, str], page: Page
) -> None:
    await open_dashboard(page, live_server)

    await by_testid(page, "hours-filter").select_option("all")

    await table_shows(page, set(aged_runs.values()), "every run")
    await expect(by_testid(page, "stat-total")).to_have_attribute("data-value", "3")


async def test_a_custom_range_typed_in_narrows_the_table_and_goes_in_the_url(
    live_server: LiveServer, aged_runs: dict[str, str], page: Page
) -> None:
    now = time.time()
    await open_dashboard(page, live_server)

    await by_testid(page, "hours-filter").select_option("custom")
    await expect(by_testid(page, "custom-range")).to_be_visible()
    await by_testid(page, "since-input").fill(local_input(now - 95 * DAY))
    await by_testid(page, "until-input").fill(local_input(now - 5 * DAY))

    await table_shows(
        page, {aged_runs["ten_days"], aged_runs["ninety_days"]}, "runs 5 to 95 days old"
    )
    assert set(query(page)) == {"since", "until"}


async def test_a_deep_link_with_a_custom_range_opens_it(
    live_server: LiveServer, aged_runs: dict[str, str], page: Page
) -> None:
    now = time.time()
    link = f"?since={iso(now - 11 * DAY)}&until={iso(now - 9 * DAY)}"

    await open_dashboard(page, live_server, link)

    await table_shows(page, {aged_runs["ten_days"]}, "the linked range")
    await expect(by_testid(page, "hours-filter")).to_have_value("custom")
    await expect(by_testid(page, "since-input")).to_have_value(local_input(now - 11 * DAY))
    await expect(by_testid(page, "stat-total")).to_have_attribute("data-value", "1")
    await screenshot(page.locator("#logs"), "dashboard-time-range")


async def test_an_end_before_the_start_is_refused_in_the_form(
    live_server: LiveServer, aged_runs: dict[str, str], page: Page
) -> None:
    now = time.time()
    await open_dashboard(page, live_server)
    await by_testid(page, "hours-filter").select_option("custom")
    await by_testid(page, "since-input").fill(local_input(now - 2 * DAY))
    await expect(page).to_have_url(re.compile("since="))

    await by_testid(page, "until-input").fill(local_input(now - 3 * DAY))

    assert await by_testid(page, "until-input").evaluate("el => !el.validity.valid")
    assert "until" not in query(page)


async def test_the_errors_view_takes_the_custom_range(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    now = time.time()
    run = started(ago_s=20 * DAY)
    await write(
        db,
        run,
        finished(run, status="failed", failed_nodes=["data_checker"], error_summary=NONE_GET),
    )

    await open_dashboard(
        page, live_server, f"?view=errors&since={iso(now - 21 * DAY)}&until={iso(now - 19 * DAY)}"
    )

    await expect(by_testid(page, "error-group")).to_have_count(1)
    await expect(by_testid(page, "error-group")).to_contain_text("data_checker")


async def test_the_export_takes_the_window_shown(
    live_server: LiveServer, aged_runs: dict[str, str], page: Page
) -> None:
    await open_dashboard(page, live_server, "?range=all")

    async with page.expect_download() as waiting:
        await by_testid(page, "export-json").click()
    text = (await (await waiting.value).path()).read_text(encoding="utf-8")

    assert all(execution_id in text for execution_id in aged_runs.values())


# ------------------------------------------------------------------- search and user


async def test_the_search_finds_error_summaries_failed_nodes_and_ids(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    ids = await run_demo_agent(http, ["failed", "partial", "completed"])
    await open_dashboard(page, live_server)
    search = by_testid(page, "search-input")

    await search.fill("NoneType")
    await table_shows(page, {ids["failed"], ids["partial"]}, "runs whose error is NoneType")
    await search.fill("multi_platform_orch")
    await table_shows(page, {ids["partial"]}, "runs where the orchestrator failed")
    await search.fill(ids["completed"][-12:])
    await table_shows(page, {ids["completed"]}, "the run by an id prefix")


async def test_the_search_says_what_it_covers(live_server: LiveServer, page: Page) -> None:
    await open_dashboard(page, live_server)

    await expect(by_testid(page, "search-input")).to_have_attribute(
        "placeholder", "Request, response, error, failed node or id"
    )
    await expect(by_testid(page, "search-help")).to_contain_text(
        "the error summary and the failed nodes' names"
    )


async def test_a_user_typed_with_a_star_filters_by_prefix(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    ids = await run_demo_agent(http, ["failed", "partial", "completed"])
    await open_dashboard(page, live_server)

    await by_testid(page, "user-filter").fill("user-p*")

    await table_shows(page, {ids["partial"]}, "users starting with user-p")
    assert query(page)["user_id_prefix"] == ["user-p"]


async def test_the_user_field_suggests_the_ids_it_starts(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    await run_demo_agent(http, ["failed", "partial", "parallel", "completed"])
    await open_dashboard(page, live_server)

    await by_testid(page, "user-filter").fill("user-p")

    options = by_testid(page, "user-suggestions").locator("option")
    await expect(options).to_have_count(3)
    assert await options.evaluate_all("os => os.map(o => o.value)") == [
        "user-p*",
        "user-parallel",
        "user-partial",
    ]


async def test_markup_in_a_suggested_user_id_stays_text(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    await write(db, started(user_id=f"x{MARKUP}"))
    await open_dashboard(page, live_server)

    await by_testid(page, "user-filter").fill("x")

    options = by_testid(page, "user-suggestions").locator("option")
    await expect(options).to_have_count(1)
    assert await options.first.get_attribute("value") == f"x{MARKUP}"
    await assert_inert(page)
    assert await page.locator("#user-suggestions > :not(option)").count() == 0


# ------------------------------------------------------------------- overview


async def test_the_overview_follows_the_filters_and_says_which(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    await run_demo_agent(http, ["failed", "partial", "completed", "parallel"])
    await open_dashboard(page, live_server)
    await expect(by_testid(page, "stat-total")).to_have_attribute("data-value", "4")

    await by_testid(page, "status-filter").select_option("failed")
    await by_testid(page, "user-filter").fill("user-f*")

    panel = by_testid(page, "stats-panel")
    await expect(panel.get_by_test_id("stats-filters")).to_have_text(
        "for: failed · user user-f* · last 24 h"
    )
    await expect(panel.get_by_test_id("stat-total")).to_have_attribute("data-value", "1")
    await expect(panel.get_by_test_id("failed-node-bar")).to_have_count(1)
    await expect(panel.get_by_test_id("failed-node-bar")).to_have_attribute(
        "data-node", "data_checker"
    )
    await expect(panel.get_by_test_id("node-filters")).to_have_text(
        "for: failed · user user-f* · last 24 h"
    )
    perf_nodes = panel.get_by_test_id("node-perf-table").locator("tbody tr")
    assert "multi_platform_orchestrator" not in await perf_nodes.evaluate_all(
        "rows => rows.map(r => r.dataset.node)"
    )
    await screenshot(panel, "dashboard-stats-filtered")


async def test_the_overview_follows_the_search(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    await run_demo_agent(http, ["failed", "partial", "completed"])
    await open_dashboard(page, live_server)

    await by_testid(page, "search-input").fill("NoneType")

    await expect(by_testid(page, "stats-filters")).to_have_text("for: “NoneType” · last 24 h")
    await expect(by_testid(page, "stat-total")).to_have_attribute("data-value", "2")
