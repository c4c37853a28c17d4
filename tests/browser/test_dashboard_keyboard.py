"""Opening runs without the button, and moving between them with the keys:
a click on a row or Enter on it opens its execution; j/k move the focus from
row to row (visibly, one row in the tab order) and page through runs in the
open drawer; keys typed into a field stay there."""

import asyncpg
import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import by_testid, focused_row_id, open_dashboard
from tests.conftest import LiveServer
from tests.factories import finished, started, write

pytestmark = pytest.mark.browser


@pytest.fixture
async def three_runs(live_server: LiveServer, db: asyncpg.Connection) -> list[str]:
    """Three finished runs, newest first (the table's order)."""
    runs = [started(request_message=f"Request number {i}", ago_s=10 * (i + 1)) for i in range(3)]
    await write(db, *runs, *(finished(run) for run in runs))
    return [run.execution_id for run in runs]


async def drawer_shows(page: Page, execution_id: str) -> None:
    panel = by_testid(page, "tree-panel")
    await expect(panel).to_be_visible()
    await expect(panel.locator(".summary .selectable")).to_have_text(execution_id)
    assert f"exec={execution_id}" in page.url


async def test_clicking_a_row_opens_its_execution(
    live_server: LiveServer, three_runs: list[str], page: Page
) -> None:
    await open_dashboard(page, live_server)

    await by_testid(page, "log-row", id=three_runs[1]).locator(".request-text").click()

    await drawer_shows(page, three_runs[1])
    await expect(by_testid(page, "log-row", id=three_runs[1])).to_have_class(
        "log-row row-completed selected"
    )


async def test_clicking_a_rows_copy_button_does_not_open_it(
    live_server: LiveServer, three_runs: list[str], page: Page
) -> None:
    await open_dashboard(page, live_server)

    await by_testid(page, "log-row", id=three_runs[0]).locator(".btn-copy").click()

    await expect(page.locator("#toast")).to_contain_text("Cop")
    await expect(by_testid(page, "tree-panel")).to_be_hidden()


async def test_enter_on_a_focused_row_opens_its_execution(
    live_server: LiveServer, three_runs: list[str], page: Page
) -> None:
    await open_dashboard(page, live_server)
    await by_testid(page, "log-row", id=three_runs[2]).focus()

    await page.keyboard.press("Enter")

    await drawer_shows(page, three_runs[2])


async def test_j_and_k_move_the_focus_between_rows(
    live_server: LiveServer, three_runs: list[str], page: Page
) -> None:
    await open_dashboard(page, live_server)

    seen = []
    for key in ["j", "j", "j", "j", "k"]:
        await page.keyboard.press(key)
        seen.append(await focused_row_id(page))

    # From nowhere, j goes to the first row; it stops at the last one.
    assert seen == [three_runs[0], three_runs[1], three_runs[2], three_runs[2], three_runs[1]]
    await expect(by_testid(page, "tree-panel")).to_be_hidden()


async def test_the_row_focus_is_visible_and_the_only_tab_stop_among_rows(
    live_server: LiveServer, three_runs: list[str], page: Page
) -> None:
    await open_dashboard(page, live_server)

    await page.keyboard.press("j")
    await page.keyboard.press("j")

    row = by_testid(page, "log-row", id=three_runs[1])
    assert await row.evaluate("r => r.matches(':focus-visible')")
    outline = await row.evaluate(
        "r => { const s = getComputedStyle(r); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none" and outline[1] != "0px", outline
    tab_stops = await by_testid(page, "log-row").evaluate_all(
        "rows => rows.filter(r => r.tabIndex === 0).map(r => r.dataset.id)"
    )
    assert tab_stops == [three_runs[1]]


async def test_j_with_the_drawer_open_shows_the_next_run_there(
    live_server: LiveServer, three_runs: list[str], page: Page
) -> None:
    await open_dashboard(page, live_server)
    await by_testid(page, "log-row", id=three_runs[0]).click()
    await drawer_shows(page, three_runs[0])

    await page.keyboard.press("j")

    await drawer_shows(page, three_runs[1])
    assert await focused_row_id(page) == three_runs[1]
    await expect(by_testid(page, "log-row", id=three_runs[1])).to_have_class(
        "log-row row-completed selected"
    )


async def test_escape_closes_the_drawer_and_gives_the_focus_back_to_the_row(
    live_server: LiveServer, three_runs: list[str], page: Page
) -> None:
    await open_dashboard(page, live_server)
    await page.keyboard.press("j")
    await page.keyboard.press("Enter")
    await drawer_shows(page, three_runs[0])

    await page.keyboard.press("Escape")

    await expect(by_testid(page, "tree-panel")).to_be_hidden()
    assert await focused_row_id(page) == three_runs[0]


async def test_j_and_k_typed_in_a_filter_field_stay_in_the_field(
    live_server: LiveServer, three_runs: list[str], page: Page
) -> None:
    await open_dashboard(page, live_server)

    search = by_testid(page, "search-input")
    await search.click()
    await page.keyboard.type("jk")

    await expect(search).to_have_value("jk")
    assert await focused_row_id(page) is None


async def test_a_live_update_keeps_the_focus_on_its_row(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    await open_dashboard(page, live_server)
    run = started(request_message="Still running")
    await write(db, run)
    row = by_testid(page, "log-row", id=run.execution_id)
    await expect(row).to_have_attribute("data-status", "running")
    await page.keyboard.press("j")
    assert await focused_row_id(page) == run.execution_id

    await write(db, finished(run, status="failed", failed_nodes=["data_checker"]))

    await expect(row).to_have_attribute("data-status", "failed")
    assert await focused_row_id(page) == run.execution_id
