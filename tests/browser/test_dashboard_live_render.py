"""Live updates are drawn in batches: every event that arrives between two
animation frames is drawn in one pass, and an update touches only the row it
changes (the other rows keep their elements)."""

import time

import asyncpg
import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import by_testid, open_dashboard
from tests.conftest import LiveServer
from tests.factories import finished, started, write

pytestmark = pytest.mark.browser

# Counts the table's DOM changes (a MutationObserver callback runs after each
# task or frame callback that changed it) and the animation frames meanwhile.
PROBE = """() => {
  const probe = { changes: 0, frames: 0, on: true };
  new MutationObserver(() => { probe.changes += 1; }).observe(
    document.querySelector('#log-rows'),
    { childList: true, subtree: true, attributes: true, characterData: true });
  const tick = () => { if (probe.on) { probe.frames += 1; requestAnimationFrame(tick); } };
  requestAnimationFrame(tick);
  window.__probe = probe;
}"""


async def test_a_burst_of_live_events_is_drawn_at_most_once_per_frame(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    await open_dashboard(page, live_server)
    await page.evaluate(PROBE)

    # 80 starts in one batch: one NOTIFY, 80 SSE events in one write.
    now = time.time()  # one clock reading: 1 ms apart whatever the machine's load
    runs = [started(request_message=f"Burst {i}", started_at=now - i / 1000) for i in range(80)]
    await write(db, *runs)

    await expect(by_testid(page, "page-info")).to_have_text("1–50 of 80")
    await expect(by_testid(page, "log-row")).to_have_count(50)
    probe = await page.evaluate("() => { window.__probe.on = false; return window.__probe; }")
    # One draw per frame at most (+1: the running rows' elapsed-time tick,
    # a frame callback of its own, may fall in the same frame).
    assert probe["changes"] <= probe["frames"] + 1, probe
    assert probe["changes"] < 20, f"80 events drawn in {probe['changes']} passes"
    newest_first = [run.execution_id for run in runs[:50]]
    ids = await by_testid(page, "log-row").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert ids == newest_first


async def test_a_live_finish_redraws_only_its_own_row(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    runs = [started(request_message=f"Run {i}", ago_s=i + 1) for i in range(5)]
    await write(db, *runs)
    await open_dashboard(page, live_server)
    await expect(by_testid(page, "log-row")).to_have_count(5)
    await page.evaluate(
        """() => {
          window.__touched = new Set();
          document.querySelectorAll('#log-rows tr').forEach((tr, i) => { tr.__mark = i; });
          new MutationObserver((records) => {
            for (const r of records) {
              const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
              if (el.closest('.elapsed')) continue;  // the running rows' clock
              const tr = el.closest('tr');
              window.__touched.add(tr ? tr.dataset.id || 'other' : 'tbody');
            }
          }).observe(document.querySelector('#log-rows'),
                     { childList: true, subtree: true, attributes: true, characterData: true });
        }"""
    )
    target = runs[2]

    await write(db, finished(target, status="failed", failed_nodes=["data_checker"]))

    await expect(by_testid(page, "log-row", id=target.execution_id)).to_have_attribute(
        "data-status", "failed"
    )
    # Let any other pending frame run before looking.
    await page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")
    touched = await page.evaluate("() => [...window.__touched]")
    assert touched == [target.execution_id]
    marks = await by_testid(page, "log-row").evaluate_all("rows => rows.map(r => r.__mark)")
    assert marks == [0, 1, 2, 3, 4], "rows were re-created"
