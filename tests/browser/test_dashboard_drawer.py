"""The run drawer on runs of real agents (LangGraph's prebuilt ReAct agent with
a fake chat model, a Send fan-out): the run's input, each node's output as
pretty JSON (collapsed, capped, a cut output's preview and size), tool calls
under their node, Send branches labelled, a failure's exception type and
traceback, tokens per node and per run, and a cost where the price table
knows the model."""

import json
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from app.config import Settings
from langgraph_execution_monitor.api.prices import ModelPrice
from langgraph_execution_monitor.writer import LogWriter
from tests.browser.agents import MODEL, Agents
from tests.browser.conftest import PageErrors, screenshot
from tests.browser.helpers import LOGS, by_testid, open_dashboard
from tests.browser.test_dashboard_hostile_text import MARKUP, RLO, assert_inert
from tests.conftest import LiveServer
from tests.factories import finished, started, write

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

# Per 1,000 tokens: the weather run (40 in, 13 out) costs 40 * 0.5 / 1000 + 13 * 1.5 / 1000.
PRICES = {MODEL: ModelPrice(input=0.5, output=1.5)}
WEATHER_COST = "$0.0395"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"model_prices": PRICES})


@pytest.fixture
def agents(writer: LogWriter, http: httpx.AsyncClient) -> Agents:
    return Agents(writer, http)


async def open_run(page: Page, server: LiveServer, execution_id: str) -> None:
    await open_dashboard(page, server, f"?exec={execution_id}")
    await expect(by_testid(page, "tree-node").first).to_be_visible()


async def test_the_runs_input_is_shown_as_pretty_json_when_opened(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    execution_id = await agents.weather("Weather in Paris and Oslo?")
    await open_run(page, live_server, execution_id)

    section = by_testid(page, "run-input")
    await expect(section.locator("pre")).to_have_count(0)  # drawn only when opened
    await section.locator("summary").click()

    text = await section.locator("pre").text_content()
    assert '"messages": [' in text
    assert '"Weather in Paris and Oslo?"' in text


async def test_a_nodes_output_is_collapsed_pretty_json(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    execution_id = await agents.weather()
    await open_run(page, live_server, execution_id)

    last_agent = by_testid(page, "tree-node", node="agent", step="3")
    await last_agent.get_by_test_id("node-output").locator("summary").click()

    output = last_agent.get_by_test_id("payload-json")
    await expect(output).to_contain_text('"content": "Sunny in Paris, snow in Oslo."')
    await expect(output).to_contain_text('\n  "messages": [')


async def test_tool_calls_are_drawn_under_the_node_branch_that_made_them(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    execution_id = await agents.weather()
    await open_run(page, live_server, execution_id)

    tools = by_testid(page, "tree-group", node="tools")
    await expect(tools).to_have_count(2)
    for branch, call in (("0", "call-paris"), ("1", "call-oslo")):
        card = tools.filter(has=page.locator(f'[data-testid="tree-node"][data-branch="{branch}"]'))
        await expect(card.get_by_test_id("tool-calls-tag")).to_have_text("1 tool call")
        tool_call = card.locator('[data-testid="tree-node"][data-type="tool"]')
        await expect(tool_call).to_have_attribute("data-branch", call)
        await expect(tool_call.get_by_test_id("branch-label")).to_have_text(call)


async def test_send_branches_are_labelled_with_their_index(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    execution_id = await agents.fan_out(["a", "b", "c"])
    await open_run(page, live_server, execution_id)

    labels = by_testid(page, "tree-node", node="work").get_by_test_id("branch-label")
    await expect(labels).to_have_count(3)
    assert sorted(await labels.all_text_contents()) == ["Send #0", "Send #1", "Send #2"]


async def test_a_failing_tool_shows_its_exception_type_and_traceback(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    execution_id = await agents.failing_tool()
    await open_run(page, live_server, execution_id)

    failed = by_testid(page, "tree-node", node="weather", status="failed")
    await expect(failed.get_by_test_id("tree-error")).to_have_text(
        "ValueError: no weather station in Atlantis"
    )
    await failed.get_by_test_id("traceback-details").locator("summary").click()
    traceback = failed.get_by_test_id("traceback")
    await expect(traceback).to_contain_text('raise ValueError(f"no weather station in {city}")')
    await expect(traceback).to_contain_text("ValueError: no weather station in Atlantis")


async def test_a_failing_send_branch_shows_its_exception_type(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    execution_id = await agents.fan_out(["a", "bad"])
    await open_run(page, live_server, execution_id)

    failed = by_testid(page, "tree-node", node="work", status="failed")
    await expect(failed.get_by_test_id("tree-error")).to_have_text("KeyError: 'bad item'")
    await expect(failed.get_by_test_id("branch-label")).to_have_text("Send #1")


async def test_tokens_are_shown_per_node_and_per_run(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    execution_id = await agents.weather()
    await open_run(page, live_server, execution_id)

    await expect(by_testid(page, "run-tokens")).to_have_text("53 tok (40 in · 13 out)")
    tokens = by_testid(page, "tree-node", node="agent").get_by_test_id("node-tokens")
    assert await tokens.all_text_contents() == ["15 tok (10 in · 5 out)", "38 tok (30 in · 8 out)"]


async def test_the_cost_comes_from_the_price_table_per_node_and_per_run(
    live_server: LiveServer, agents: Agents, page: Page, page_errors: PageErrors
) -> None:
    execution_id = await agents.weather()
    await open_run(page, live_server, execution_id)

    await expect(by_testid(page, "run-cost")).to_have_text(WEATHER_COST)
    costs = by_testid(page, "tree-node", node="agent").get_by_test_id("node-cost")
    # 10 * 0.5 / 1000 + 5 * 1.5 / 1000 and 30 * 0.5 / 1000 + 8 * 1.5 / 1000
    assert await costs.all_text_contents() == ["$0.0125", "$0.027"]
    await (
        by_testid(page, "tree-node", node="agent", step="1")
        .get_by_test_id("llm-calls")
        .locator("summary")
        .click()
    )
    await expect(by_testid(page, "llm-call")).to_contain_text(MODEL)
    await screenshot(by_testid(page, "tree-panel"), "dashboard-drawer")
    assert page_errors.all() == []


async def test_no_cost_is_shown_for_a_model_without_a_price(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    execution_id = await agents.failing_tool()
    await open_run(page, live_server, execution_id)

    await expect(by_testid(page, "run-tokens")).to_have_text("10 tok (7 in · 3 out)")
    await expect(by_testid(page, "node-tokens")).to_have_count(1)
    await expect(by_testid(page, "run-cost")).to_have_count(0)
    await expect(by_testid(page, "node-cost")).to_have_count(0)


# ------------------------------------------------------------------- sizes


def agent_output(detail: dict[str, Any]) -> Any:
    (entry,) = [e for e in detail["execution_trace"] if e["node"] == "agent"]
    return entry["output"]


async def test_an_output_the_writer_cut_shows_its_preview_and_its_size(
    live_server: LiveServer, agents: Agents, http: httpx.AsyncClient, page: Page
) -> None:
    execution_id = await agents.echo("x" * 100_000)
    stored = agent_output((await http.get(f"{LOGS}/{execution_id}")).json())
    assert stored["truncated"] is True
    await open_run(page, live_server, execution_id)

    output = by_testid(page, "tree-node", node="agent").get_by_test_id("node-output")
    await output.locator("summary").click()

    cut = output.get_by_test_id("payload-truncated")
    await expect(cut).to_contain_text(
        f"Stored in part: the first {len(stored['preview']):,} of {stored['chars']:,} characters."
    )
    assert await cut.locator("pre").evaluate("el => el.textContent.length") == 4_000
    await cut.get_by_test_id("show-all").click()
    assert await cut.locator("pre").text_content() == stored["preview"]


async def test_a_long_output_is_shown_in_part_with_a_show_all(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    execution_id = await agents.echo("y" * 8_000 + "END")
    await open_run(page, live_server, execution_id)

    output = by_testid(page, "tree-node", node="agent").get_by_test_id("node-output")
    await output.locator("summary").click()
    body = output.get_by_test_id("payload-json")
    assert await body.evaluate("el => el.textContent.length") == 4_000
    await output.get_by_test_id("show-all").click()

    text = await body.text_content()
    assert json.loads(text)["messages"][0]["content"] == "y" * 8_000 + "END"


# ------------------------------------------------------------------- hostile text


def hostile_entries(t0: float) -> list[dict[str, Any]]:
    return [
        {
            "node": "agent",
            "status": "failed",
            "execution_time_ms": 5.0,
            "error": f"{MARKUP} error",
            "error_type": f"{MARKUP}Error",
            "traceback": f'  File "{MARKUP}.py", line 1\n{RLO}raise',
            "timestamp": t0 + 0.01,
            "started_at": t0 + 0.005,
            "step": 1,
            "parent": None,
            "attempt": 1,
            "type": "node",
            "branch": f"{MARKUP}{RLO}",
            "output": {"messages": [{"content": f"{MARKUP}{RLO} output"}], MARKUP: 1},
            "llm_calls": [{"model": MARKUP, "input_tokens": 1, "output_tokens": 1}],
            "tokens": {"input": 1, "output": 1, "total": 2},
        }
    ]


async def test_markup_in_outputs_tracebacks_branches_and_models_shows_as_text(
    live_server: LiveServer, db: asyncpg.Connection, page: Page
) -> None:
    run = started(request_message="hostile")
    await write(
        db,
        run,
        finished(
            run,
            status="partial",
            trace=hostile_entries(run.started_at),
            failed_nodes=["agent"],
            error_summary="x",
        ),
    )
    await open_run(page, live_server, run.execution_id)

    node = by_testid(page, "tree-node", node="agent")
    for section in ("node-output", "traceback-details", "llm-calls"):
        await node.get_by_test_id(section).locator("summary").click()
    await expect(node.get_by_test_id("tree-error")).to_have_text(f"{MARKUP}Error: {MARKUP} error")
    await expect(node.get_by_test_id("payload-json")).to_contain_text(
        json.dumps(f"{MARKUP}{RLO} output", ensure_ascii=False)
    )
    await expect(node.get_by_test_id("traceback")).to_contain_text(f'File "{MARKUP}.py"')
    await expect(node.get_by_test_id("branch-label")).to_have_text(f"{MARKUP}{RLO}")
    await expect(node.get_by_test_id("llm-call")).to_contain_text(MARKUP)
    await assert_inert(page)


async def test_a_one_megabyte_answer_of_markup_is_stored_cut_and_shown_inert(
    live_server: LiveServer, agents: Agents, page: Page
) -> None:
    answer = (MARKUP + RLO) * ((1 << 20) // len(MARKUP + RLO))
    execution_id = await agents.echo(answer)
    await open_run(page, live_server, execution_id)

    output = by_testid(page, "tree-node", node="agent").get_by_test_id("node-output")
    await output.locator("summary").click()
    await output.get_by_test_id("show-all").click()
    shown = output.get_by_test_id("payload-truncated").locator("pre")
    assert await shown.evaluate("el => el.textContent.includes('<script>window.__xss=2</script>')")
    await by_testid(page, "detail-response").get_by_test_id("show-all").click()
    await assert_inert(page)
