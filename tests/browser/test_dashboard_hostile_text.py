"""Text from runs is data, never markup: HTML and script tags show as text
(in the table, the drawer, the stats panel, and rows arriving live), a
right-to-left override cannot reorder the page's own labels, and a 1 MB
response is shown in part until asked for."""

from typing import Any

import asyncpg
import pytest
from playwright.async_api import Page, expect

from langgraph_execution_monitor.rows import TextCleaner, batch_columns
from langgraph_execution_monitor.storage import queries
from tests.browser.helpers import by_testid, open_dashboard
from tests.conftest import LiveServer
from tests.factories import finished, started, write

pytestmark = pytest.mark.browser

MARKUP = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold</b>'
SHORT_MARKUP = "<svg onload=window.__xss=3>"  # conversation ids hold 36 characters
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE, never closed
DATA_AREAS = "#log-rows, #tree-body, #failed-bars, #perf-rows"


def hostile_trace(t0: float, text: str) -> list[dict[str, Any]]:
    return [
        {
            "node": f"{text} node",
            "status": "failed",
            "execution_time_ms": 5.0,
            "error": f"{text} error",
            "timestamp": t0 + 0.01,
            "started_at": t0 + 0.005,
            "step": 1,
            "parent": None,
            "attempt": 1,
        }
    ]


async def write_hostile_run(db: asyncpg.Connection, text: str, conversation_id: str) -> str:
    run = started(
        user_id=f"{text} user",
        conversation_id=conversation_id,
        request_message=f"{text} request",
        ago_s=1,
    )
    await write(
        db,
        run,
        finished(
            run,
            status="partial",
            response_message=f"{text} response",
            trace=hostile_trace(run.started_at, text),
            failed_nodes=[f"{text} node"],
            error_summary=f"{text} summary",
        ),
    )
    return run.execution_id


async def assert_inert(page: Page) -> None:
    """No element made from data, no script ran."""
    assert await page.evaluate("() => window.__xss") is None
    made = await page.evaluate(
        """areas => [...document.querySelectorAll(areas)].flatMap(area =>
             [...area.querySelectorAll('img, script, b, [onerror], [onload]')]
               .map(el => el.outerHTML))""",
        DATA_AREAS,
    )
    assert made == []


async def test_markup_in_run_text_shows_as_text_in_the_table_drawer_and_stats(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    execution_id = await write_hostile_run(db, MARKUP, SHORT_MARKUP)

    await open_dashboard(page, live_server)
    row = by_testid(page, "log-row", id=execution_id)
    await expect(row).to_contain_text(f"{MARKUP} request")
    await expect(row).to_contain_text(f"{MARKUP} summary")
    await expect(by_testid(page, "failed-node-bar")).to_contain_text(f"{MARKUP} node")
    await row.click()
    panel = by_testid(page, "tree-panel")
    await expect(panel.get_by_test_id("detail-response")).to_contain_text(f"{MARKUP} response")
    await expect(panel.get_by_test_id("tree-error")).to_have_text(f"{MARKUP} error")
    await expect(panel.locator(".summary")).to_contain_text(SHORT_MARKUP)

    await assert_inert(page)


async def test_markup_in_a_run_arriving_live_shows_as_text(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    await open_dashboard(page, live_server)

    execution_id = await write_hostile_run(db, MARKUP, SHORT_MARKUP)

    row = by_testid(page, "log-row", id=execution_id)
    await expect(row).to_have_attribute("data-status", "partial")
    await expect(row).to_contain_text(f"{MARKUP} request")
    await assert_inert(page)


async def test_right_to_left_overrides_in_run_text_are_isolated(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    execution_id = await write_hostile_run(db, RLO + "evil", "conv-" + RLO + "rtl")
    await open_dashboard(page, live_server)
    await by_testid(page, "log-row", id=execution_id).click()
    await expect(by_testid(page, "tree-panel").get_by_test_id("tree-error")).to_be_visible()

    # Every text node holding the override sits in a bidi-isolated element.
    found = await page.evaluate(
        """([areas, mark]) => {
          const out = [];
          for (const area of document.querySelectorAll(areas)) {
            const walk = document.createTreeWalker(area, NodeFilter.SHOW_TEXT);
            for (let n = walk.nextNode(); n; n = walk.nextNode()) {
              if (!n.data.includes(mark)) continue;
              const bidi = getComputedStyle(n.parentElement).unicodeBidi;
              out.push([n.parentElement.tagName, bidi]);
            }
          }
          return out;
        }""",
        [DATA_AREAS, RLO],
    )
    # request, user, conversation, summary, failed node (table); user,
    # conversation, request, response, summary, node, error (drawer); stats.
    assert len(found) >= 12, found
    leaking = [f for f in found if f[1] not in ("isolate", "plaintext", "isolate-override")]
    assert leaking == [], leaking


async def test_a_one_megabyte_response_is_shown_in_part_until_asked_for(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    await open_dashboard(page, live_server)
    size = 1 << 20
    run = started(request_message="Write me a very long answer")
    done = finished(run, response_message="x" * (size - 3) + "END")
    columns, bad = batch_columns([run, done], TextCleaner(2 * size))
    assert not bad
    await queries.log_batch_v2(db, columns)  # arrives live: 1 MB in one SSE event

    # A megabyte through the stream and into the page takes seconds on a busy
    # machine (seen in CI beside the other suite): generous limits, no fixed sleep.
    slow = 60_000
    row = by_testid(page, "log-row", id=run.execution_id)
    await expect(row).to_have_attribute("data-status", "completed", timeout=slow)
    await row.click(timeout=slow)

    response = by_testid(page, "detail-response")
    body = response.locator("pre")
    await expect(body).to_be_visible(timeout=slow)
    shown = await body.evaluate("el => el.textContent.length")
    assert shown == 20_000
    show_all = response.get_by_test_id("show-all")
    await expect(show_all).to_have_text(f"Show all {size:,} characters", timeout=slow)

    await show_all.click(timeout=slow)

    assert await body.evaluate("el => el.textContent.length") == size
    assert await body.evaluate("el => el.textContent.endsWith('END')")
    await expect(show_all).to_have_count(0)
