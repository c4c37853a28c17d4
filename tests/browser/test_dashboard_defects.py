"""Defects found trying the dashboard as a new user would (issue 12), each
pinned by a test: the token dialog's Cancel, the two failure counts, the node
that fails most hidden in its scroll box, conversation labels that all read
`demo-con`, the current turn listed among the "other turns"."""

from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from app.config import Settings
from tests.browser.helpers import NODES, by_testid, open_dashboard, run_demo_agent
from tests.conftest import LiveServer
from tests.factories import finished, started, write

pytestmark = pytest.mark.browser


@pytest.fixture
def token_settings(settings: Settings) -> Settings:
    """Protect the API with a token; requested before live_server starts it."""
    settings.monitoring_api_token = "s3cret"
    return settings


# ------------------------------------------------------------------- token


async def test_one_cancel_closes_the_token_dialog_and_the_badge_says_a_token_is_needed(
    token_settings: Settings, live_server: LiveServer, page: Page
) -> None:
    await page.goto(live_server.url)
    dialog = by_testid(page, "token-dialog")
    await expect(dialog).to_be_visible()

    await page.get_by_role("button", name="Cancel").click()

    await expect(dialog).to_be_hidden()
    # Every request the page makes after the cancel has answered (401), and
    # none of them reopened the dialog.
    await page.wait_for_load_state("networkidle")
    await expect(dialog).to_be_hidden()
    live = by_testid(page, "live-indicator")
    await expect(live).to_have_attribute("data-state", "disconnected")
    await expect(live).to_have_text("Not connected — token needed")
    await expect(page.get_by_role("button", name="Enter token")).to_be_focused()


async def test_escape_in_the_token_dialog_also_closes_it_for_good(
    token_settings: Settings, live_server: LiveServer, page: Page
) -> None:
    await page.goto(live_server.url)
    dialog = by_testid(page, "token-dialog")
    await expect(dialog).to_be_visible()

    await page.keyboard.press("Escape")

    await page.wait_for_load_state("networkidle")
    await expect(dialog).to_be_hidden()


async def test_enter_token_after_a_cancel_loads_the_data_and_goes_live(
    token_settings: Settings, live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    run = started(user_id="guarded")
    await write(db, run, finished(run))
    await page.goto(live_server.url)
    await page.get_by_role("button", name="Cancel").click()
    await page.wait_for_load_state("networkidle")

    await page.get_by_role("button", name="Enter token").click()
    await by_testid(page, "token-input").fill("s3cret")
    await by_testid(page, "token-submit").click()

    await expect(by_testid(page, "log-row", id=run.execution_id)).to_be_visible()
    await expect(by_testid(page, "stat-total")).to_have_attribute("data-value", "1")
    await expect(by_testid(page, "live-indicator")).to_have_attribute("data-state", "live")
    await expect(page.get_by_role("button", name="Enter token")).to_be_hidden()


# ------------------------------------------------------------------- stats


async def test_the_two_failure_counts_say_what_they_count(
    live_server: LiveServer, http: httpx.AsyncClient, page: Page
) -> None:
    # A retried node: its first attempt failed, the run did not.
    await run_demo_agent(http, ["retried", "failed"])
    nodes = {n["node"]: n for n in (await http.get(NODES)).json()["nodes"]}
    assert nodes["data_checker"]["failures"] >= 2  # the retried attempt and the failed run

    await open_dashboard(page, live_server)

    panel = by_testid(page, "stats-panel")
    await expect(panel.get_by_role("heading", name="Failed runs by node")).to_be_visible()
    await expect(by_testid(page, "failed-node-note")).to_contain_text("a run counts once")
    await expect(by_testid(page, "failed-node-bar", node="data_checker")).to_have_attribute(
        "data-count", "1"
    )
    table = by_testid(page, "node-perf-table")
    await expect(table.locator('th[data-key="failures"]')).to_have_text("Failed attempts")
    await expect(table.locator('th[data-key="runs"]')).to_have_text("Executions")
    await expect(by_testid(page, "node-perf-note")).to_contain_text("retries included")
    failures = table.locator('tr[data-node="data_checker"] td').nth(1)
    await expect(failures).to_have_text(str(nodes["data_checker"]["failures"]))


def wide_trace(t0: float, flaky_fails: bool) -> list[dict[str, Any]]:
    """Fifteen slow nodes that never fail and one fast node that does."""
    entries = []
    for i in range(15):
        entries.append(
            {
                "node": f"slow_node_{i:02}",
                "status": "completed",
                "execution_time_ms": 50.0 + 10 * i,
                "timestamp": t0 + 0.01 * (i + 1),
                "started_at": t0 + 0.01 * i,
                "step": i + 1,
                "parent": None,
                "attempt": 1,
            }
        )
    entries.append(
        {
            "node": "fast_flaky_node",
            "status": "failed" if flaky_fails else "completed",
            "execution_time_ms": 0.5,
            "error": "flaky" if flaky_fails else None,
            "timestamp": t0 + 0.2,
            "started_at": t0 + 0.199,
            "step": 16,
            "parent": None,
            "attempt": 1,
        }
    )
    return entries


async def test_the_node_that_fails_most_is_in_view_in_the_node_table(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    runs = [started(ago_s=10 + i) for i in range(4)]
    await write(
        db,
        *runs,
        *(
            finished(
                run,
                status="partial" if i < 3 else "completed",
                trace=wide_trace(run.started_at, flaky_fails=i < 3),
                failed_nodes=["fast_flaky_node"] if i < 3 else None,
            )
            for i, run in enumerate(runs)
        ),
    )

    await open_dashboard(page, live_server)

    table = by_testid(page, "node-perf-table")
    await expect(table.locator("tbody tr")).to_have_count(16)
    box = await page.locator(".scroll-box:has(> .perf-table)").bounding_box()
    row = await table.locator('tr[data-node="fast_flaky_node"]').bounding_box()
    assert box and row
    assert box["y"] <= row["y"] and row["y"] + row["height"] <= box["y"] + box["height"], (
        f"the failing node's row {row} is outside the scroll box {box}"
    )
    await expect(table.locator('th[data-key="failures"]')).to_have_attribute(
        "aria-sort", "descending"
    )


# ------------------------------------------------------------ conversations


async def test_conversation_labels_tell_demo_conversations_apart(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    conversations = [
        "demo-conv-1",
        "demo-conv-2",
        "demo-conversation-000017",
        "demo-conversation-000018",
    ]
    runs = [started(conversation_id=conv, ago_s=i + 1) for i, conv in enumerate(conversations)]
    await write(db, *runs)

    await open_dashboard(page, live_server)

    labels = by_testid(page, "conversation-label")
    await expect(labels).to_have_count(4)
    texts = await labels.all_inner_texts()
    assert len(set(texts)) == 4, texts
    titles = await labels.evaluate_all("els => els.map(e => e.title)")
    assert titles == [f"conversation {conv}" for conv in conversations]


async def test_the_drawer_lists_the_other_turns_without_the_current_one(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    turns = [
        started(conversation_id="conv-turns", request_message=f"Turn {i}", ago_s=30 - 10 * i)
        for i in range(3)
    ]
    await write(db, *turns, *(finished(t) for t in turns))
    middle = turns[1].execution_id
    await open_dashboard(page, live_server)

    await by_testid(page, "log-row", id=middle).click()

    others = by_testid(page, "other-turn")
    await expect(others).to_have_count(2)
    assert await others.evaluate_all("els => els.map(e => e.dataset.id)") == [
        turns[0].execution_id,
        turns[2].execution_id,
    ]
    section = page.locator("#conversation-section")
    await expect(section).to_contain_text("this run is turn 2 of 3")

    await others.first.click()
    await expect(page.locator("#tree-panel .summary .selectable")).to_have_text(
        turns[0].execution_id
    )


# -------------------------------------------------------------- interrupted


async def test_interrupted_runs_have_a_badge_a_card_and_a_filter(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    waiting = started(request_message="Needs a human", ago_s=2)
    done = started(ago_s=3)
    await write(db, waiting, done, finished(waiting, status="interrupted"), finished(done))
    await open_dashboard(page, live_server)

    row = by_testid(page, "log-row", id=waiting.execution_id)
    await expect(row.locator(".badge")).to_have_class("badge status-interrupted")
    await expect(by_testid(page, "stat-interrupted-card")).to_be_visible()
    await expect(by_testid(page, "stat-interrupted")).to_have_attribute("data-value", "1")

    await by_testid(page, "status-filter").select_option("interrupted")

    await expect(by_testid(page, "log-row")).to_have_count(1)
    await expect(row).to_be_visible()
    assert "status=interrupted" in page.url


async def test_the_interrupted_card_is_hidden_when_no_run_is_interrupted(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    run = started()
    await write(db, run, finished(run))
    await open_dashboard(page, live_server)

    await expect(by_testid(page, "stat-total")).to_have_attribute("data-value", "1")
    await expect(by_testid(page, "stat-interrupted-card")).to_be_hidden()
