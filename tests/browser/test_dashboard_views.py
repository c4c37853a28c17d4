"""The errors view, the threads view and the listing's export, in Chromium
against a live server with runs of the demo agent and of LangGraph's prebuilt
ReAct agent (a fake chat model, tool calls, tokens, a failing tool)."""

import csv
import io
import json
import uuid

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from langgraph_execution_monitor.writer import LogWriter
from tests.browser.agents import Agents
from tests.browser.conftest import screenshot
from tests.browser.helpers import NONE_GET, by_testid, open_dashboard, run_demo_agent
from tests.browser.test_dashboard_hostile_text import MARKUP, assert_inert
from tests.conftest import LiveServer
from tests.factories import finished, started, write

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture
def agents(writer: LogWriter, http: httpx.AsyncClient) -> Agents:
    return Agents(writer, http)


# ------------------------------------------------------------------- errors


async def test_the_errors_view_groups_the_same_failure_across_runs(
    live_server: LiveServer, agents: Agents, http: httpx.AsyncClient, page: Page
) -> None:
    await run_demo_agent(http, ["failed", "completed"])
    tool_runs = [await agents.failing_tool(), await agents.failing_tool()]

    await open_dashboard(page, live_server, "?view=errors")

    groups = by_testid(page, "error-group")
    await expect(groups).to_have_count(2)
    tool_group = groups.filter(has_text="no weather station in Atlantis")
    await expect(tool_group.get_by_test_id("error-pattern")).to_have_text(
        "ValueError: no weather station in Atlantis"
    )
    await expect(tool_group.get_by_test_id("error-failures")).to_have_text("2")
    await expect(tool_group.get_by_test_id("error-spark")).to_have_attribute(
        "data-counts", ",".join(["0"] * 23 + ["2"])
    )
    await expect(groups.filter(has_text="data_checker")).to_contain_text(
        "'?' object has no attribute '?'"
    )
    await expect(groups.filter(has_text="data_checker")).to_contain_text(NONE_GET)
    await screenshot(page, "dashboard-errors", full_page=True)

    await tool_group.get_by_test_id("error-run").first.click()

    await expect(by_testid(page, "tree-panel")).to_be_visible()
    assert f"exec={tool_runs[1]}" in page.url
    await expect(by_testid(page, "tree-node", node="weather", status="failed")).to_be_visible()


async def test_the_tabs_switch_views_and_the_url_keeps_the_view(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    await run_demo_agent(http, ["failed"])
    await open_dashboard(page, live_server)

    await by_testid(page, "tab-errors").click()
    await expect(by_testid(page, "errors-panel")).to_be_visible()
    await expect(by_testid(page, "logs-table")).to_be_hidden()
    assert "view=errors" in page.url
    await page.go_back()
    await expect(by_testid(page, "logs-table")).to_be_visible()
    await expect(by_testid(page, "errors-panel")).to_be_hidden()


# ------------------------------------------------------------------- threads


async def test_the_threads_view_has_a_row_per_conversation_with_its_turns_and_tokens(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    thread_id = f"thread-{uuid.uuid4()}"
    first = await agents.weather(thread_id=thread_id)
    second = await agents.failing_tool(thread_id=thread_id)
    await agents.weather()  # another conversation

    await open_dashboard(page, live_server, "?view=threads")

    await expect(by_testid(page, "thread-row")).to_have_count(2)
    row = by_testid(page, "thread-row", id=thread_id)
    await expect(row.get_by_test_id("thread-turns")).to_have_text("2")
    await expect(row.get_by_test_id("thread-tokens")).to_have_text("63")  # 53 + 10

    await row.click()

    turns = by_testid(page, "thread-turn")
    await expect(turns).to_have_count(2)  # drawn once the conversation is fetched
    assert await turns.evaluate_all("ts => ts.map(t => t.dataset.id)") == [first, second]
    await turns.first.locator("summary").click()
    tree = turns.first.get_by_test_id("thread-tree")
    await expect(tree.locator('[data-testid="tree-node"][data-type="tool"]')).to_have_count(2)
    await screenshot(page, "dashboard-threads", full_page=True)


async def test_the_threads_view_follows_the_user_filter(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    await agents.weather()  # user ada
    await agents.failing_tool()  # user bob

    await open_dashboard(page, live_server, "?view=threads&user_id=bob")

    await expect(by_testid(page, "thread-row")).to_have_count(1)
    await expect(by_testid(page, "thread-row")).to_contain_text("bob")


# ------------------------------------------------------------------- export


async def test_export_csv_downloads_every_run_the_filters_match(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    ids = await run_demo_agent(http, ["failed", "completed", "partial"])
    await open_dashboard(page, live_server, "?status=failed")

    async with page.expect_download() as waiting:
        await by_testid(page, "export-csv").click()
    download = await waiting.value
    text = (await download.path()).read_text(encoding="utf-8")

    assert download.suggested_filename == "executions.csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["id"], r["status"]) for r in rows] == [(ids["failed"], "failed")]


async def test_export_json_downloads_the_listings_rows(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    await run_demo_agent(http, ["failed", "completed"])
    await open_dashboard(page, live_server)

    async with page.expect_download() as waiting:
        await by_testid(page, "export-json").click()
    download = await waiting.value
    exported = json.loads((await download.path()).read_text(encoding="utf-8"))

    listing = (await http.get("/api/v1/monitoring/logs")).json()["logs"]
    assert exported == listing


# ------------------------------------------------------------------- hostile text


async def test_markup_in_error_groups_and_threads_shows_as_text(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    run = started(user_id=f"{MARKUP} user", conversation_id="conv-x", request_message=MARKUP)
    entry = {
        "node": f"{MARKUP} node",
        "status": "failed",
        "execution_time_ms": 1.0,
        "error": f"{MARKUP} error",
        "error_type": MARKUP,
        "timestamp": run.started_at + 0.01,
        "started_at": run.started_at,
        "step": 1,
        "parent": None,
        "attempt": 1,
    }
    await write(db, run, finished(run, status="failed", trace=[entry], failed_nodes=["x"]))

    await open_dashboard(page, live_server, "?view=errors")
    await expect(by_testid(page, "error-group")).to_contain_text(f"{MARKUP} node")
    await by_testid(page, "tab-threads").click()
    await expect(by_testid(page, "thread-row")).to_contain_text(f"{MARKUP} user")

    await assert_inert(page)
    made = await page.evaluate(
        """() => [...document.querySelectorAll('#error-rows, #thread-rows')].flatMap(area =>
             [...area.querySelectorAll('img, script, b')].map(el => el.outerHTML))"""
    )
    assert made == []
