"""The dashboard in headless Chromium, against a real server and real rows:
the table and its filters, live updates, the execution tree, the stats panel,
the token prompt, and a clean console. Screenshots land in
artifacts/screenshots/ (kept by CI; the README shows copies in docs/screenshots/)."""

from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from app.config import Settings
from tests.browser.conftest import PageErrors, screenshot
from tests.browser.helpers import (
    DEMO,
    NODES,
    NONE_GET,
    STATS,
    by_testid,
    open_dashboard,
    row_statuses,
    run_demo_agent,
    table_shows,
)
from tests.conftest import LiveServer
from tests.factories import finished, started, write

pytestmark = pytest.mark.browser

TIMEOUT = "profile service timed out"


# ------------------------------------------------------------------- table


async def test_the_table_lists_runs_with_their_statuses(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    ids = await run_demo_agent(http, list(DEMO))

    await open_dashboard(page, live_server)

    assert await row_statuses(page) == {ids[kind]: DEMO[kind][1] for kind in DEMO}
    failed = by_testid(page, "log-row", id=ids["failed"])
    partial = by_testid(page, "log-row", id=ids["partial"])
    await expect(failed).to_have_class("log-row row-failed")
    await expect(partial).to_have_class("log-row row-partial")
    await expect(failed).to_contain_text("data_checker")
    await expect(failed).to_contain_text(NONE_GET)
    await expect(partial).to_contain_text("multi_platform_orchestrator")
    await expect(by_testid(page, "page-info")).to_have_text("1–5 of 5")
    await screenshot(page, "dashboard-table", full_page=True)


async def test_the_table_fits_a_narrow_screen(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    await run_demo_agent(http, list(DEMO))
    await page.set_viewport_size({"width": 420, "height": 900})

    await open_dashboard(page, live_server)

    await expect(by_testid(page, "log-row")).to_have_count(5)
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 420px"
    # The overview loads after the table: the screenshot shows it loaded.
    await expect(by_testid(page, "stat-total")).to_have_attribute("data-value", "5")
    await screenshot(page, "dashboard-narrow", full_page=True)


# ----------------------------------------------------------------- filters


async def seed_filter_rows(db: asyncpg.Connection) -> dict[str, str]:
    """Five runs across users, conversations and statuses, newest first."""
    runs = {
        "a": started(user_id="alice", conversation_id="conv-a", ago_s=10),
        "b": started(
            user_id="alice",
            conversation_id="conv-b",
            request_message="Create a LinkedIn post about AI for my missing profile",
            ago_s=20,
        ),
        "c": started(
            user_id="bob",
            conversation_id="conv-b",
            request_message="Create a post about AI for twitter and linkedin",
            ago_s=30,
        ),
        "d": started(
            user_id="bob",
            conversation_id="conv-c",
            request_message="Write a haiku about indexes",
            ago_s=40,
        ),
        "e": started(
            user_id="carol",
            conversation_id="conv-c",
            request_message="Summarise the report",
            ago_s=50,
        ),
    }
    await write(
        db,
        *runs.values(),
        finished(runs["a"]),
        finished(
            runs["b"],
            status="failed",
            response_message=None,
            failed_nodes=["data_checker"],
            error_summary=NONE_GET,
        ),
        finished(
            runs["c"],
            status="partial",
            failed_nodes=["multi_platform_orchestrator"],
            error_summary=NONE_GET,
        ),
        finished(runs["d"], response_message="Rows sorted, pages turned"),
    )
    return {name: run.execution_id for name, run in runs.items()}


@pytest.fixture
async def filter_rows(live_server: LiveServer, db: asyncpg.Connection) -> dict[str, str]:
    return await seed_filter_rows(db)


async def test_the_status_filter_narrows_the_table(
    live_server: LiveServer, filter_rows: dict[str, str], page: Page
) -> None:
    await open_dashboard(page, live_server)
    await table_shows(page, set(filter_rows.values()), "all rows")

    await by_testid(page, "status-filter").select_option("failed")
    await table_shows(page, {filter_rows["b"]}, "failed rows only")

    await by_testid(page, "status-filter").select_option("running")
    await table_shows(page, {filter_rows["e"]}, "running rows only")
    assert await row_statuses(page) == {filter_rows["e"]: "running"}


async def test_the_user_filter_narrows_the_table(
    live_server: LiveServer, filter_rows: dict[str, str], page: Page
) -> None:
    await open_dashboard(page, live_server)

    await by_testid(page, "user-filter").fill("alice")
    await table_shows(page, {filter_rows["a"], filter_rows["b"]}, "alice's rows")
    await expect(by_testid(page, "page-info")).to_have_text("1–2 of 2")


async def test_the_conversation_filter_narrows_the_table(
    live_server: LiveServer, filter_rows: dict[str, str], page: Page
) -> None:
    await open_dashboard(page, live_server)

    await by_testid(page, "conversation-filter").fill("conv-b")
    await table_shows(page, {filter_rows["b"], filter_rows["c"]}, "conversation conv-b")


async def test_the_text_search_narrows_the_table(
    live_server: LiveServer, filter_rows: dict[str, str], page: Page
) -> None:
    await open_dashboard(page, live_server)

    await by_testid(page, "search-input").fill("twitter")
    await table_shows(page, {filter_rows["c"]}, "requests mentioning twitter")

    await by_testid(page, "search-input").fill("pages turned")  # in a response
    await table_shows(page, {filter_rows["d"]}, "responses mentioning 'pages turned'")


async def test_the_filters_combine_and_clear(
    live_server: LiveServer, filter_rows: dict[str, str], page: Page
) -> None:
    await open_dashboard(page, live_server)

    await by_testid(page, "user-filter").fill("bob")
    await by_testid(page, "status-filter").select_option("partial")
    await table_shows(page, {filter_rows["c"]}, "bob's partial rows")

    await page.get_by_role("button", name="Clear filters").click()
    await table_shows(page, set(filter_rows.values()), "all rows again")
    await expect(by_testid(page, "user-filter")).to_have_value("")


async def test_paging_walks_through_the_runs(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    runs = [started(request_message=f"Run number {i}", ago_s=i) for i in range(7)]
    await write(db, *runs)
    newest_first = [run.execution_id for run in runs]

    await open_dashboard(page, live_server, "?limit=3")
    info, prev, nxt = (by_testid(page, t) for t in ("page-info", "prev-page", "next-page"))

    await expect(info).to_have_text("1–3 of 7")
    await expect(prev).to_be_disabled()
    assert list(await row_statuses(page)) == newest_first[0:3]

    await nxt.click()
    await expect(info).to_have_text("4–6 of 7")
    assert list(await row_statuses(page)) == newest_first[3:6]

    await nxt.click()
    await expect(info).to_have_text("7–7 of 7")
    await expect(nxt).to_be_disabled()
    assert list(await row_statuses(page)) == newest_first[6:]

    await prev.click()
    await expect(info).to_have_text("4–6 of 7")


async def test_a_total_past_the_servers_count_cap_shows_as_a_floor(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    """10,001 runs in the window: the server counts to 10,000 and says so
    (`total_capped`); the pager says "10000+" and lets the user page on."""
    await db.execute(
        """INSERT INTO execution_logs (id, user_id, request_message, status, started_at)
           SELECT 'bulk-' || i, 'bulk-user', 'bulk run ' || i, 'completed',
                  now() - i * interval '1 second'
           FROM generate_series(1, 10001) AS i"""
    )

    await open_dashboard(page, live_server, "?limit=50")
    info, nxt = by_testid(page, "page-info"), by_testid(page, "next-page")

    await expect(info).to_have_text("1–50 of 10000+")
    await expect(nxt).to_be_enabled()
    await nxt.click()
    await expect(info).to_have_text("51–100 of 10000+")


# -------------------------------------------------------------------- live


async def test_a_run_started_after_the_page_loaded_appears_live(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    earlier = await run_demo_agent(http, ["completed"])
    await open_dashboard(page, live_server)
    await table_shows(page, set(earlier.values()), "the earlier run")

    answer = await http.post(
        "/api/v1/chat/v2", json={"message": DEMO["partial"][0], "user_id": "late-user"}
    )
    late = answer.json()["execution_id"]

    new_row = by_testid(page, "log-row", id=late)
    await expect(new_row).to_have_attribute("data-status", "partial")
    assert list(await row_statuses(page)) == [late, earlier["completed"]]  # newest on top
    await expect(by_testid(page, "page-info")).to_have_text("1–2 of 2")


async def test_a_running_row_turns_final_in_place(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    await open_dashboard(page, live_server)
    run = started(request_message="A slow run", user_id="patient")

    await write(db, run)
    row = by_testid(page, "log-row", id=run.execution_id)
    await expect(row).to_have_attribute("data-status", "running")
    await page.evaluate("() => { window.__sameDocument = true; }")

    await write(
        db,
        finished(run, status="failed", failed_nodes=["data_checker"], error_summary=NONE_GET),
    )
    await expect(row).to_have_attribute("data-status", "failed")
    await expect(row).to_contain_text("data_checker")
    await expect(by_testid(page, "log-row")).to_have_count(1)
    assert await page.evaluate("() => window.__sameDocument === true"), "the page reloaded"


# -------------------------------------------------------------------- tree


def trace_with_fan_out_retry_and_failure(t0: float) -> list[dict[str, Any]]:
    """A run's trace: data_checker retried (attempt 1 timed out), then two
    platform_writer branches in one superstep, one of which failed."""

    def entry(node: str, step: int, begin: float, ms: float, **extra: Any) -> dict[str, Any]:
        return {
            "node": node,
            "status": "completed",
            "execution_time_ms": ms,
            "error": None,
            "timestamp": t0 + begin + ms / 1000,
            "started_at": t0 + begin,
            "step": step,
            "parent": None,
            "attempt": 1,
        } | extra

    return [
        entry("guardrail_check", 1, 0.000, 12),
        entry("intent_classifier", 2, 0.015, 40),
        entry("data_checker", 3, 0.060, 30, status="failed", error=TIMEOUT),
        entry("data_checker", 3, 0.095, 25, attempt=2),
        entry("multi_platform_orchestrator", 4, 0.125, 20),
        entry("platform_writer", 5, 0.150, 80),
        entry("platform_writer", 5, 0.150, 55, status="failed", error=NONE_GET),
        entry("response_writer", 6, 0.240, 15),
    ]


@pytest.fixture
async def branching_run(live_server: LiveServer, db: asyncpg.Connection) -> str:
    run = started(
        request_message="Create a post about AI for linkedin and twitter (flaky profile service)",
        user_id="tree-user",
        ago_s=5,
    )
    await write(
        db,
        finished(
            run,
            status="partial",
            duration_s=0.26,
            response_message="Here is your LinkedIn post. Twitter could not be done.",
            trace=trace_with_fan_out_retry_and_failure(run.started_at),
            failed_nodes=["platform_writer"],
            error_summary=NONE_GET,
        ),
    )
    return run.execution_id


async def test_generate_tree_draws_fan_out_retries_and_the_failure(
    live_server: LiveServer, branching_run: str, page: Page
) -> None:
    await open_dashboard(page, live_server)

    await by_testid(page, "log-row", id=branching_run).get_by_test_id("generate-tree").click()

    panel = by_testid(page, "tree-panel")
    await expect(panel).to_be_visible()
    nodes = panel.get_by_test_id("tree-node")
    await expect(nodes).to_have_count(8)
    # Fan-out: both branches in superstep 5, drawn side by side.
    branches = panel.locator('[data-testid="tree-node"][data-node="platform_writer"]')
    await expect(branches).to_have_count(2)
    assert set(await branches.evaluate_all("els => els.map(e => e.dataset.step)")) == {"5"}
    left, right = [await b.bounding_box() for b in await branches.all()]
    assert left and right
    assert abs(left["y"] - right["y"]) < 2 and left["x"] != right["x"], (left, right)
    # Retry: both attempts of data_checker in one group, in order.
    attempts = panel.locator('[data-testid="tree-node"][data-node="data_checker"]')
    assert await attempts.evaluate_all(
        "els => els.map(e => [e.dataset.attempt, e.dataset.status])"
    ) == [["1", "failed"], ["2", "completed"]]
    same_group = await attempts.evaluate_all(
        "els => els[0].closest('.branch') === els[1].closest('.branch')"
    )
    assert same_group
    await expect(attempts.first.get_by_test_id("tree-error")).to_have_text(TIMEOUT)
    # The failed branch is marked and shows its error.
    failed = panel.locator(
        '[data-testid="tree-node"][data-node="platform_writer"][data-status="failed"]'
    )
    await expect(failed).to_have_count(1)
    await expect(failed).to_have_class("attempt status-failed")
    await expect(failed.get_by_test_id("tree-error")).to_have_text(NONE_GET)
    await expect(failed.get_by_test_id("tree-error")).to_be_visible()
    await panel.locator("#tree-heading").evaluate("h => h.scrollIntoView({block: 'start'})")
    await screenshot(page, "dashboard-tree")


async def test_generate_tree_of_a_real_parallel_run_splits_its_branches(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    ids = await run_demo_agent(http, ["parallel"])
    await open_dashboard(page, live_server)

    await by_testid(page, "log-row", id=ids["parallel"]).get_by_test_id("generate-tree").click()

    panel = by_testid(page, "tree-panel")
    writers = panel.locator('[data-testid="tree-node"][data-node="platform_writer"]')
    await expect(writers).to_have_count(2)
    # Each branch holds its own subgraph run: one draft_post and one polish_post.
    per_branch = await panel.locator(".branch").evaluate_all(
        """cards => cards
            .filter(c => c.querySelector(':scope > .branch-head .node-name')
                          .textContent === 'platform_writer')
            .map(c => [...c.querySelectorAll('.subgraph [data-testid="tree-node"]')]
                          .map(n => n.dataset.node).sort().join(','))"""
    )
    assert per_branch == ["draft_post,polish_post", "draft_post,polish_post"]


# ------------------------------------------------------------------- stats


async def test_the_stats_panel_matches_the_stats_endpoint(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    await run_demo_agent(http, list(DEMO))
    stats = (await http.get(STATS)).json()

    await open_dashboard(page, live_server)

    panel = by_testid(page, "stats-panel")
    await expect(panel.get_by_test_id("stat-total")).to_have_attribute(
        "data-value", str(stats["total_executions"])
    )

    async def shown(testid: str) -> float:
        return float(await panel.get_by_test_id(testid).get_attribute("data-value") or "nan")

    assert await shown("stat-success-rate") == stats["success_rate"]
    for status in ("completed", "failed", "partial", "running"):
        assert await shown(f"stat-{status}") == stats["by_status"][status], status
    await expect(panel.get_by_test_id("stat-success-rate")).to_have_text(
        f"{stats['success_rate']:.1f}%"
    )
    bars = await panel.get_by_test_id("failed-node-bar").evaluate_all(
        "bars => bars.map(b => [b.dataset.node, Number(b.dataset.count)])"
    )
    assert dict(bars) == stats["failed_nodes_breakdown"]
    assert stats["failed_nodes_breakdown"] == {"data_checker": 1, "multi_platform_orchestrator": 1}
    nodes = (await http.get(NODES)).json()["nodes"]
    perf_rows = panel.get_by_test_id("node-perf-table").locator("tbody tr")
    await expect(perf_rows).to_have_count(len(nodes))
    assert set(await perf_rows.evaluate_all("rows => rows.map(r => r.dataset.node)")) == {
        node["node"] for node in nodes
    }
    # Real node runs take well under a millisecond: none is shown as "0 ms".
    cells = await perf_rows.locator("td").all_text_contents()
    assert "0 ms" not in cells, cells
    await screenshot(panel, "dashboard-stats")


# ------------------------------------------------------------------- token


@pytest.fixture
def token_settings(settings: Settings) -> Settings:
    """Protect the API with a token; requested before live_server starts it."""
    settings.monitoring_api_token = "s3cret"
    return settings


async def test_a_wrong_token_is_refused_and_the_right_one_loads_the_data(
    token_settings: Settings, live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    run = started(user_id="guarded")
    await write(db, run, finished(run))

    await page.goto(live_server.url)
    dialog = by_testid(page, "token-dialog")
    await expect(dialog).to_be_visible()
    await expect(by_testid(page, "token-error")).to_be_hidden()
    await expect(by_testid(page, "log-row")).to_have_count(0)

    await by_testid(page, "token-input").fill("wrong")
    await by_testid(page, "token-submit").click()
    await expect(by_testid(page, "token-error")).to_be_visible()
    await expect(dialog).to_be_visible()
    await expect(by_testid(page, "log-row")).to_have_count(0)

    await by_testid(page, "token-input").fill("s3cret")
    await by_testid(page, "token-submit").click()
    await expect(dialog).to_be_hidden()
    await expect(by_testid(page, "log-row", id=run.execution_id)).to_have_attribute(
        "data-status", "completed"
    )
    await expect(by_testid(page, "stat-total")).to_have_attribute("data-value", "1")
    await expect(by_testid(page, "live-indicator")).to_have_attribute("data-state", "live")


# ----------------------------------------------------------------- console


async def test_a_normal_page_load_logs_no_console_errors(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page, page_errors: PageErrors
) -> None:
    ids = await run_demo_agent(http, list(DEMO))

    await open_dashboard(page, live_server)
    await expect(by_testid(page, "stat-total")).to_have_attribute("data-value", "5")
    await by_testid(page, "log-row", id=ids["failed"]).get_by_test_id("generate-tree").click()
    await expect(by_testid(page, "tree-panel").get_by_test_id("tree-error")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(by_testid(page, "tree-panel")).to_be_hidden()

    assert page_errors.all() == []
