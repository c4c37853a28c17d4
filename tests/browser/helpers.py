"""Helpers shared by the browser tests: locating by test id, reading the
table, running the demo agent, opening the page and waiting for it to be live."""

from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import eventually
from tests.conftest import LiveServer

LOGS = "/api/v1/monitoring/logs"
STATS = "/api/v1/monitoring/stats"
NODES = "/api/v1/monitoring/nodes"
NONE_GET = "'NoneType' object has no attribute 'get'"

# The demo agent's documented inputs (app/agents/conversational_graph/graph.py)
# and the status each run ends with.
DEMO = {
    "completed": ("Create a LinkedIn post about AI", "completed"),
    "partial": ("Create a post about AI for twitter and linkedin", "partial"),
    "failed": ("Create a LinkedIn post about AI for my missing profile", "failed"),
    "retried": ("Create a LinkedIn post about AI (flaky profile service)", "completed"),
    "parallel": ("Create a post about AI for linkedin and facebook", "completed"),
}


def by_testid(page: Page, testid: str, **attrs: str) -> Any:
    selector = f'[data-testid="{testid}"]' + "".join(f'[data-{k}="{v}"]' for k, v in attrs.items())
    return page.locator(selector)


async def row_statuses(page: Page) -> dict[str, str]:
    """The table as {execution id: data-status}."""
    rows = await by_testid(page, "log-row").evaluate_all(
        "rows => rows.map(r => [r.dataset.id, r.dataset.status])"
    )
    return dict(rows)


async def table_shows(page: Page, expected: set[str], what: str) -> None:
    """Wait until the table holds exactly these execution ids."""
    await eventually(lambda: row_statuses(page), lambda rows: set(rows) == expected, what=what)


async def run_demo_agent(http: httpx.AsyncClient, kinds: list[str]) -> dict[str, str]:
    """One chat turn per demo input; wait until every run is written final.
    Returns {kind: execution id}."""
    ids = {}
    for kind in kinds:
        answer = await http.post(
            "/api/v1/chat/v2", json={"message": DEMO[kind][0], "user_id": f"user-{kind}"}
        )
        assert answer.status_code == 200, answer.text
        ids[kind] = answer.json()["execution_id"]

    async def listing() -> dict[str, str]:
        body = (await http.get(LOGS)).json()
        return {log["id"]: log["status"] for log in body["logs"]}

    await eventually(
        listing,
        lambda rows: set(rows) == set(ids.values()) and "running" not in rows.values(),
        what="the demo runs to be written",
    )
    return ids


async def open_dashboard(page: Page, server: LiveServer, query: str = "", path: str = "/") -> None:
    """Load the page and wait for the table and the live stream."""
    await page.goto(f"{server.url}{path}{query}")
    await expect(page.locator("#log-rows tr").first).not_to_have_text("Loading…")
    await expect(by_testid(page, "live-indicator")).to_have_attribute("data-state", "live")


async def focused_row_id(page: Page) -> str | None:
    """The execution id of the table row that has the focus, if one has."""
    return await page.evaluate(
        "() => { const a = document.activeElement;"
        " return a && a.matches('tr.log-row') ? a.dataset.id : null; }"
    )
