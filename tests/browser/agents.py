"""Demo data from real LangGraph agents for the browser tests: LangGraph's
prebuilt ReAct agent driven by langchain_core's fake chat model (tool calls,
token usage, a failing tool), and a Send fan-out. Each run goes through the
monitor and the real background writer into the live server's database."""

import contextlib
import uuid
from typing import Any

import httpx
from langchain_core.messages import AIMessage
from langgraph.prebuilt import ToolNode, create_react_agent

from langgraph_execution_monitor.capture import ExecutionMonitor
from langgraph_execution_monitor.writer import LogWriter
from tests.browser.conftest import eventually
from tests.test_capture_langgraph import ToolCallingFake, fan_out, usage, weather, weather_turns

MODEL = "fake-gpt"


class Agents:
    """Runs real agents through a monitor whose events `writer` writes."""

    def __init__(self, writer: LogWriter, http: httpx.AsyncClient) -> None:
        self.writer = writer
        self.http = http
        self.monitor = ExecutionMonitor(emit=writer.enqueue)

    async def written(self, execution_id: str) -> dict[str, Any]:
        """Wait until the API serves the run as final; returns its JSON."""

        async def detail() -> dict[str, Any] | None:
            answer = await self.http.get(f"/api/v1/monitoring/logs/{execution_id}")
            return answer.json() if answer.status_code == 200 else None

        return await eventually(
            detail,
            lambda d: d is not None and d["status"] != "running",
            what=f"run {execution_id} to be written",
        )

    async def run(
        self, graph: Any, state: dict[str, Any], user_id: str, thread_id: str | None = None
    ) -> str:
        execution_id = str(uuid.uuid4())
        config = {
            "configurable": {"thread_id": thread_id or f"thread-{uuid.uuid4()}"},
            "run_id": execution_id,
        }
        # A run that raises is still written (as failed): that is what is shown.
        with contextlib.suppress(Exception):
            await self.monitor.instrument(graph).ainvoke(state, config, user_id=user_id)
        await self.written(execution_id)
        return execution_id

    async def weather(self, question: str = "Weather in Paris and Oslo?", **kw: Any) -> str:
        """Two tool calls (one Send branch each), two LLM calls with tokens."""
        agent = create_react_agent(ToolCallingFake(messages=weather_turns()), [weather])
        return await self.run(agent, {"messages": [("user", question)]}, "ada", **kw)

    async def failing_tool(self, **kw: Any) -> str:
        """The weather tool raises (ToolNode turns it into a message): a partial run."""
        turns = iter(
            [
                AIMessage(
                    "",
                    tool_calls=[{"name": "weather", "args": {"city": "Atlantis"}, "id": "c1"}],
                    usage_metadata=usage(7, 3),
                    response_metadata={"model_name": "unpriced-model"},
                ),
                AIMessage("I could not find the weather in Atlantis."),
            ]
        )
        agent = create_react_agent(
            ToolCallingFake(messages=turns), ToolNode([weather], handle_tool_errors=True)
        )
        return await self.run(agent, {"messages": [("user", "Weather in Atlantis?")]}, "bob", **kw)

    async def echo(self, answer: str, user_id: str = "eve", **kw: Any) -> str:
        """One LLM call whose answer (and so the node's output) is `answer`."""
        agent = create_react_agent(ToolCallingFake(messages=iter([AIMessage(answer)])), [])
        return await self.run(agent, {"messages": [("user", "say it")]}, user_id, **kw)

    async def fan_out(self, items: list[str], **kw: Any) -> str:
        """A Send per item; the item "bad" raises KeyError in its branch."""
        return await self.run(fan_out(), {"items": items, "done": []}, "fan", **kw)
