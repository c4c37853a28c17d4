"""Specification of the capture against LangGraph as apps use it: every entry point,
LangGraph's own prebuilt agent and ToolNode, langchain_core's fake chat models with tool
calls and token usage, subgraphs nobody instrumented, interrupts, retries, timeouts,
caching, the functional API. Each run goes through the real background writer into
PostgreSQL, and each test reads the row back.

The graphs are instrumented exactly as the README shows: ``monitor.instrument(graph)``
and then the graph is used as LangGraph documents it, with ``thread_id`` in the config.
"""

import asyncio
import datetime
import json
import operator
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, TypedDict

import asyncpg
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.tools import tool
from langgraph.cache.memory import InMemoryCache
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import entrypoint, task
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, create_react_agent
from langgraph.types import CachePolicy, Command, RetryPolicy, Send, TimeoutPolicy, interrupt

from langgraph_execution_monitor.capture import ExecutionMonitor
from langgraph_execution_monitor.writer import LogWriter

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class ToolCallingFake(GenericFakeChatModel):
    """langchain_core's fake chat model, able to stand in for a tool-calling model."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ToolCallingFake":
        return self


def usage(inputs: int, outputs: int) -> dict[str, int]:
    return {"input_tokens": inputs, "output_tokens": outputs, "total_tokens": inputs + outputs}


def weather_turns() -> Iterator[AIMessage]:
    """One agent turn: the model calls the weather tool twice, then answers."""
    return iter(
        [
            AIMessage(
                "",
                tool_calls=[
                    {"name": "weather", "args": {"city": "Paris"}, "id": "call-paris"},
                    {"name": "weather", "args": {"city": "Oslo"}, "id": "call-oslo"},
                ],
                usage_metadata=usage(10, 5),
                response_metadata={"model_name": "fake-gpt"},
            ),
            AIMessage(
                "Sunny in Paris, snow in Oslo.",
                usage_metadata=usage(30, 8),
                response_metadata={"model_name": "fake-gpt"},
            ),
        ]
    )


@tool
def weather(city: str) -> str:
    """Today's weather in a city."""
    if city == "Atlantis":
        raise ValueError(f"no weather station in {city}")
    return "snow" if city == "Oslo" else "sun"


class Rows:
    """Runs recorded by one monitor and written by the real writer, read back."""

    def __init__(self, writer: LogWriter, db: asyncpg.Connection) -> None:
        self.writer = writer
        self.db = db
        self.monitor = ExecutionMonitor(emit=writer.enqueue)

    async def of(self, thread_id: str) -> list[dict[str, Any]]:
        """The rows of a conversation, once the writer has written everything."""
        deadline = asyncio.get_running_loop().time() + 15
        while self.writer.queue_depth:
            assert asyncio.get_running_loop().time() < deadline, "writer too slow"
            await asyncio.sleep(0.01)
        records = await self.db.fetch(
            "SELECT * FROM execution_logs WHERE conversation_id = $1 ORDER BY started_at, id",
            thread_id,
        )
        return [decoded(record) for record in records]

    async def one(self, thread_id: str) -> dict[str, Any]:
        (row,) = await self.of(thread_id)
        return row


def decoded(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record)
    for key in ("execution_trace", "failed_nodes", "input"):
        if isinstance(row[key], str):
            row[key] = json.loads(row[key])
    return row


def nodes(row: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"], e["status"]) for e in row["execution_trace"]]


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": f"thread-{uuid.uuid4()}"}}


@pytest.fixture
def rows(writer: LogWriter, db: asyncpg.Connection) -> Rows:
    return Rows(writer, db)


# -- a small messages graph for the entry points --------------------------------------


def greeter() -> Any:
    def greet(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(f"hello, {state['messages'][-1].content}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("greet", greet)
    builder.add_edge(START, "greet")
    return builder.compile()


HI = {"messages": [HumanMessage("Ada")]}


def run_sync(kind: str, graph: Any, config: dict[str, Any]) -> Any:
    if kind == "invoke":
        return graph.invoke(HI, config)
    if kind == "stream":
        return list(graph.stream(HI, config, stream_mode="updates"))
    if kind == "batch":
        return graph.batch([HI], config)
    if kind == "with_config":
        return graph.with_config(config).invoke(HI)
    if kind == "stream_events_v3":
        run = graph.stream_events(HI, config, version="v3")
        for _ in run:
            pass
        return run.output
    raise AssertionError(kind)


async def run_async(kind: str, graph: Any, config: dict[str, Any]) -> Any:
    if kind == "ainvoke":
        return await graph.ainvoke(HI, config)
    if kind == "astream":
        return [chunk async for chunk in graph.astream(HI, config)]
    if kind == "abatch":
        return await graph.abatch([HI], config)
    if kind == "astream_events":
        return [event async for event in graph.astream_events(HI, config, version="v2")]
    if kind == "ainvoke_updates":
        return await graph.ainvoke(HI, config, stream_mode="updates")
    if kind == "ainvoke_output_keys":
        return await graph.ainvoke(HI, config, output_keys="messages")
    raise AssertionError(kind)


def comparable(value: Any) -> Any:
    """Results with message ids and run ids left out (they differ run to run)."""
    text = json.dumps(value, default=lambda o: getattr(o, "content", type(o).__name__))
    return json.loads(text)


@pytest.mark.parametrize("kind", ["invoke", "stream", "batch", "with_config", "stream_events_v3"])
async def test_every_sync_entry_point_records_one_row_and_returns_what_langgraph_does(
    rows: Rows, kind: str
) -> None:
    graph = rows.monitor.instrument(greeter())
    config = thread()

    result = run_sync(kind, graph, config)

    assert comparable(result) == comparable(run_sync(kind, greeter(), thread()))
    row = await rows.one(config["configurable"]["thread_id"])
    assert (row["status"], row["request_message"]) == ("completed", "Ada")
    assert row["response_message"] == "hello, Ada"
    assert nodes(row) == [("greet", "completed")]


@pytest.mark.parametrize(
    "kind",
    [
        "ainvoke",
        "astream",
        "abatch",
        "astream_events",
        "ainvoke_updates",
        "ainvoke_output_keys",
    ],
)
async def test_every_async_entry_point_records_one_row_and_returns_what_langgraph_does(
    rows: Rows, kind: str
) -> None:
    graph = rows.monitor.instrument(greeter())
    config = thread()

    result = await run_async(kind, graph, config)

    expected = await run_async(kind, greeter(), thread())
    if kind == "astream_events":  # run ids differ; the sequence of events must not
        assert [e["event"] for e in result] == [e["event"] for e in expected]
    else:
        assert comparable(result) == comparable(expected)
    row = await rows.one(config["configurable"]["thread_id"])
    assert (row["status"], row["response_message"]) == ("completed", "hello, Ada")


async def test_the_instrumented_graph_is_the_same_pregel_object(rows: Rows) -> None:
    from langgraph.pregel import Pregel

    graph = greeter()
    assert rows.monitor.instrument(graph) is graph
    assert isinstance(graph, Pregel)
    assert isinstance(graph.with_config(recursion_limit=5), Pregel)


async def test_a_monitored_graph_used_as_a_node_of_another_is_one_row_nested_under_its_node(
    rows: Rows,
) -> None:
    inner = rows.monitor.instrument(greeter())
    outer = StateGraph(MessagesState)
    outer.add_node("front_desk", inner)
    outer.add_edge(START, "front_desk")
    graph = rows.monitor.instrument(outer.compile())
    config = thread()

    await graph.ainvoke(HI, config)

    row = await rows.one(config["configurable"]["thread_id"])
    trace = row["execution_trace"]
    assert [(e["node"], e["parent"]) for e in trace] == [
        ("greet", "front_desk"),
        ("front_desk", None),
    ]


async def test_batch_records_one_row_per_input(rows: Rows) -> None:
    graph = rows.monitor.instrument(greeter())
    configs = [thread(), thread(), thread()]

    await graph.abatch([HI, HI, HI], configs)

    for config in configs:
        assert (await rows.one(config["configurable"]["thread_id"]))["status"] == "completed"


# -- identity ---------------------------------------------------------------------------


async def test_thread_id_and_user_id_come_from_the_config(rows: Rows) -> None:
    graph = rows.monitor.instrument(greeter())
    config = {"configurable": {"thread_id": "t-" + "x" * 100, "user_id": "ada@example.com"}}

    await graph.ainvoke(HI, config)

    row = await rows.one(config["configurable"]["thread_id"])
    assert row["user_id"] == "ada@example.com"
    assert row["conversation_id"] == "t-" + "x" * 100


async def test_user_id_from_metadata_and_run_id_as_execution_id(rows: Rows) -> None:
    graph = rows.monitor.instrument(greeter())
    run_id = uuid.uuid4()
    config = {**thread(), "metadata": {"user_id": "grace"}, "run_id": run_id}

    await graph.ainvoke(HI, config)

    row = await rows.one(config["configurable"]["thread_id"])
    assert (row["id"], row["user_id"]) == (str(run_id), "grace")


async def test_keyword_arguments_override_the_config_and_never_reach_langgraph(
    rows: Rows,
) -> None:
    graph = rows.monitor.instrument(greeter())
    config = thread()

    await graph.ainvoke(HI, config, user_id="u-kw", execution_id="exec-kw-1")

    row = await rows.one(config["configurable"]["thread_id"])
    assert (row["id"], row["user_id"]) == ("exec-kw-1", "u-kw")


async def test_ids_longer_than_255_characters_are_refused_and_the_run_still_logged(
    rows: Rows, db: asyncpg.Connection
) -> None:
    graph = rows.monitor.instrument(greeter())
    long_thread = "t" * 300

    await graph.ainvoke(HI, {"configurable": {"thread_id": long_thread, "user_id": "u" * 300}})

    await rows.of("nothing")  # waits for the writer
    row = decoded(await db.fetchrow("SELECT * FROM execution_logs"))
    assert row["status"] == "completed" and row["conversation_id"] is None
    assert row["user_id"] == "anonymous"
    assert "conversation_id refused: 300 characters" in row["error_summary"]
    assert "user_id refused: 300 characters" in row["error_summary"]


# -- request and response ---------------------------------------------------------------


def echo_graph(answer: Any) -> Any:
    class State(TypedDict, total=False):
        messages: Any
        message: Any
        response: Any

    def reply(state: State) -> dict[str, Any]:
        return {"response": answer}

    builder = StateGraph(State)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder.compile()


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ({"messages": "hello"}, "hello"),
        ({"messages": [("user", "from a tuple")]}, "from a tuple"),
        ({"messages": [{"role": "user", "content": "from a dict"}]}, "from a dict"),
        (
            {"messages": [HumanMessage([{"type": "text", "text": "block text"}])]},
            "block text",
        ),
        ({"message": "plain key"}, "plain key"),
    ],
    ids=["string", "tuple", "dict", "content-blocks", "message-key"],
)
async def test_the_request_is_the_text_of_the_last_human_message(
    rows: Rows, given: dict[str, Any], stored: str
) -> None:
    graph = rows.monitor.instrument(echo_graph("ok"))
    config = thread()

    await graph.ainvoke(given, config)

    row = await rows.one(config["configurable"]["thread_id"])
    assert row["request_message"] == stored
    assert row["input"] is not None


class Custom:
    def __init__(self) -> None:
        self.kind = "custom"

    def __str__(self) -> str:
        raise RuntimeError("no str for you")


@pytest.mark.parametrize(
    ("answer", "stored"),
    [
        (AIMessage("as a message"), "as a message"),
        ([{"type": "text", "text": "as "}, {"type": "text", "text": "blocks"}], "as blocks"),
        (b"bytes", '"bytes"'),
        (datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC), '"2026-12-01T00:00:00+00:00"'),
        (Custom(), '{"type":"Custom","kind":"custom"}'),
    ],
    ids=["ai-message", "content-blocks", "bytes", "datetime", "custom-object"],
)
async def test_a_response_that_is_not_text_is_stored_as_text_or_json_never_a_repr(
    rows: Rows, answer: Any, stored: str
) -> None:
    graph = rows.monitor.instrument(echo_graph(answer))
    config = thread()

    await graph.ainvoke({"message": "hi"}, config)

    row = await rows.one(config["configurable"]["thread_id"])
    assert row["status"] == "completed"
    assert row["response_message"] == stored


# -- the prebuilt agent, tools and tokens ------------------------------------------------


async def test_a_prebuilt_react_agent_records_its_tool_calls_and_tokens(rows: Rows) -> None:
    agent = rows.monitor.instrument(
        create_react_agent(ToolCallingFake(messages=weather_turns()), [weather])
    )
    config = thread()

    result = await agent.ainvoke({"messages": [("user", "Weather in Paris and Oslo?")]}, config)

    assert result["messages"][-1].content == "Sunny in Paris, snow in Oslo."
    row = await rows.one(config["configurable"]["thread_id"])
    assert row["status"] == "completed"
    assert row["request_message"] == "Weather in Paris and Oslo?"
    assert row["response_message"] == "Sunny in Paris, snow in Oslo."
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (40, 13, 53)
    assert row["llm_calls"] == 2
    trace = row["execution_trace"]
    tools = [e for e in trace if e["type"] == "tool"]
    assert sorted((e["node"], e["branch"], e["parent"]) for e in tools) == [
        ("weather", "call-oslo", "tools"),
        ("weather", "call-paris", "tools"),
    ]
    agent_steps = [e for e in trace if e["node"] == "agent"]
    assert [e["tokens"]["total"] for e in agent_steps] == [15, 38]
    assert agent_steps[0]["llm_calls"][0]["model"] == "fake-gpt"
    tool_tasks = [e for e in trace if e["node"] == "tools"]
    assert len({e["task_id"] for e in tool_tasks}) == 2  # two branches, told apart


async def test_a_tool_error_handled_by_toolnode_is_a_failed_tool_and_a_partial_run(
    rows: Rows,
) -> None:
    turns = iter(
        [
            AIMessage(
                "", tool_calls=[{"name": "weather", "args": {"city": "Atlantis"}, "id": "c1"}]
            ),
            AIMessage("I could not find the weather in Atlantis."),
        ]
    )
    agent = rows.monitor.instrument(
        create_react_agent(
            ToolCallingFake(messages=turns), ToolNode([weather], handle_tool_errors=True)
        )
    )
    config = thread()

    await agent.ainvoke({"messages": [("user", "Weather in Atlantis?")]}, config)

    row = await rows.one(config["configurable"]["thread_id"])
    assert row["status"] == "partial"
    assert row["failed_nodes"] == ["weather"]
    assert row["error_summary"] == "no weather station in Atlantis"
    (failed,) = [e for e in row["execution_trace"] if e["status"] == "failed"]
    assert (failed["type"], failed["branch"], failed["error_type"]) == ("tool", "c1", "ValueError")
    assert "no weather station in Atlantis" in failed["traceback"]


async def test_an_agent_called_from_inside_a_tool_is_nested_under_that_tool(rows: Rows) -> None:
    @tool
    def research(topic: str) -> str:
        """Ask the research agent (a graph nobody instrumented)."""
        inner = create_react_agent(
            ToolCallingFake(
                messages=iter([AIMessage("research notes", usage_metadata=usage(4, 2))])
            ),
            [],
        )
        return inner.invoke({"messages": [("user", topic)]})["messages"][-1].content

    turns = iter(
        [
            AIMessage(
                "", tool_calls=[{"name": "research", "args": {"topic": "tides"}, "id": "r1"}]
            ),
            AIMessage("Tides follow the moon.", usage_metadata=usage(6, 3)),
        ]
    )
    agent = rows.monitor.instrument(create_react_agent(ToolCallingFake(messages=turns), [research]))
    config = thread()

    await agent.ainvoke({"messages": [("user", "Explain tides")]}, config)

    row = await rows.one(config["configurable"]["thread_id"])
    inner_agent = [e for e in row["execution_trace"] if e["parent"] == "tools/research"]
    assert [e["node"] for e in inner_agent] == ["agent"]
    assert row["total_tokens"] == 6 + 9
    assert row["status"] == "completed"


async def test_a_graph_built_at_run_time_inside_a_node_is_nested_under_it(rows: Rows) -> None:
    class Planner:
        """A node object holding a graph it builds itself (reached through self.x)."""

        def __init__(self) -> None:
            builder = StateGraph(MessagesState)
            builder.add_node("draft", lambda s: {"messages": [AIMessage("draft")]})
            builder.add_node("polish", lambda s: {"messages": [AIMessage("polished")]})
            builder.add_edge(START, "draft")
            builder.add_edge("draft", "polish")
            self.x = builder.compile()

        async def __call__(self, state: MessagesState) -> dict[str, Any]:
            result = await self.x.ainvoke(state)
            return {"messages": result["messages"][-1:]}

    builder = StateGraph(MessagesState)
    builder.add_node("plan", Planner())
    builder.add_edge(START, "plan")
    graph = rows.monitor.instrument(builder.compile())
    config = thread()

    await graph.ainvoke(HI, config)

    row = await rows.one(config["configurable"]["thread_id"])
    assert [(e["node"], e["parent"]) for e in row["execution_trace"]] == [
        ("draft", "plan"),
        ("polish", "plan"),
        ("plan", None),
    ]
    assert row["response_message"] == "polished"


# -- Send, interrupts, retries, timeouts, caching ---------------------------------------


class Fan(TypedDict, total=False):
    items: list[str]
    done: Annotated[list[str], operator.add]
    response: str


def fan_out() -> Any:
    def work(arg: dict[str, str]) -> dict[str, Any]:
        if arg["item"] == "bad":
            raise KeyError("bad item")
        return {"done": [arg["item"]]}

    builder = StateGraph(Fan)
    builder.add_node("plan", lambda s: {})
    builder.add_node("work", work)
    builder.add_node("answer", lambda s: {"response": ",".join(sorted(s["done"]))})
    builder.add_edge(START, "plan")
    builder.add_conditional_edges(
        "plan", lambda s: [Send("work", {"item": i}) for i in s["items"]], ["work"]
    )
    builder.add_edge("work", "answer")
    return builder.compile()


async def test_send_branches_are_told_apart_by_their_index_and_task_id(rows: Rows) -> None:
    graph = rows.monitor.instrument(fan_out())
    config = thread()

    await graph.ainvoke({"items": ["a", "b", "c"], "done": []}, config)

    row = await rows.one(config["configurable"]["thread_id"])
    work = [e for e in row["execution_trace"] if e["node"] == "work"]
    assert sorted(e["branch"] for e in work) == [0, 1, 2]
    assert len({e["task_id"] for e in work}) == 3
    assert sorted(json.dumps(e["output"]) for e in work) == [
        json.dumps({"done": [item]}) for item in "abc"
    ]


async def test_a_static_breakpoint_is_interrupted_and_its_resume_completed(rows: Rows) -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("draft", lambda s: {"messages": [AIMessage("draft ready")]})
    builder.add_node("send", lambda s: {"messages": [AIMessage("sent")]})
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "send")
    graph = rows.monitor.instrument(
        builder.compile(checkpointer=InMemorySaver(), interrupt_before=["send"])
    )
    config = thread()

    await graph.ainvoke(HI, config)
    await graph.ainvoke(None, config)

    paused, resumed = await rows.of(config["configurable"]["thread_id"])
    assert (paused["status"], paused["failed_nodes"], paused["error_summary"]) == (
        "interrupted",
        [],
        None,
    )
    assert nodes(paused) == [("draft", "completed")]
    assert (resumed["status"], resumed["response_message"]) == ("completed", "sent")


async def test_interrupt_then_command_resume_is_two_turns_of_one_conversation(
    rows: Rows,
) -> None:
    def approve(state: MessagesState) -> dict[str, Any]:
        answer = interrupt("ship it?")
        return {"messages": [AIMessage(f"approved: {answer}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("approve", approve)
    builder.add_edge(START, "approve")
    graph = rows.monitor.instrument(builder.compile(checkpointer=InMemorySaver()))
    config = thread()

    await graph.ainvoke(HI, config)
    await graph.ainvoke(Command(resume="yes"), config)

    paused, resumed = await rows.of(config["configurable"]["thread_id"])
    assert paused["status"] == "interrupted"
    assert nodes(paused) == [("approve", "interrupted")]
    assert (resumed["status"], resumed["response_message"]) == ("completed", "approved: yes")
    assert json.loads(json.dumps(resumed["input"]))["resume"] == "yes"


async def test_a_recovered_retry_keeps_both_attempts_and_completes(rows: Rows) -> None:
    calls: list[int] = []

    def flaky(state: MessagesState) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("profile service timed out")
        return {"messages": [AIMessage("profile loaded")]}

    builder = StateGraph(MessagesState)
    builder.add_node("flaky", flaky, retry_policy=RetryPolicy(initial_interval=0, jitter=False))
    builder.add_edge(START, "flaky")
    graph = rows.monitor.instrument(builder.compile())
    config = thread()

    await graph.ainvoke(HI, config)

    row = await rows.one(config["configurable"]["thread_id"])
    assert [(e["status"], e["attempt"]) for e in row["execution_trace"]] == [
        ("failed", 1),
        ("completed", 2),
    ]
    assert (row["status"], row["failed_nodes"]) == ("completed", [])


async def test_a_node_timeout_is_a_failed_node_with_the_timeout_as_its_error(
    rows: Rows,
) -> None:
    async def slow(state: MessagesState) -> dict[str, Any]:
        await asyncio.sleep(5)
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("slow", slow, timeout=TimeoutPolicy(run_timeout=0.05))
    builder.add_edge(START, "slow")
    graph = rows.monitor.instrument(builder.compile())
    config = thread()

    with pytest.raises(Exception, match="exceeded its run timeout"):
        await graph.ainvoke(HI, config)

    row = await rows.one(config["configurable"]["thread_id"])
    assert (row["status"], row["failed_nodes"]) == ("failed", ["slow"])
    assert "exceeded its run timeout" in row["error_summary"]
    (entry,) = row["execution_trace"]
    assert (entry["status"], entry["error_type"]) == ("failed", "NodeTimeoutError")


async def test_a_cache_policy_hit_is_an_entry_marked_cached(rows: Rows) -> None:
    runs: list[int] = []

    def lookup(state: MessagesState) -> dict[str, Any]:
        runs.append(1)
        return {"messages": [AIMessage("looked up")]}

    builder = StateGraph(MessagesState)
    builder.add_node("lookup", lookup, cache_policy=CachePolicy())
    builder.add_edge(START, "lookup")
    graph = rows.monitor.instrument(builder.compile(cache=InMemoryCache()))
    first, second = thread(), thread()

    await graph.ainvoke(HI, first)
    await graph.ainvoke(HI, second)

    assert len(runs) == 1
    row = await rows.one(second["configurable"]["thread_id"])
    (entry,) = row["execution_trace"]
    assert (entry["node"], entry["cached"]) == ("lookup", True)
    assert (row["status"], row["response_message"]) == ("completed", "looked up")


# -- the functional API -------------------------------------------------------------


@task
def double(value: int) -> int:
    return 2 * value


@task
def divide(value: int) -> float:
    return 1 / value


@entrypoint()
def summing(count: int) -> str:
    return f"sum {sum(double(i).result() for i in range(count))}"


@entrypoint()
def dividing(value: int) -> str:
    return f"result {divide(value).result()}"


async def test_functional_tasks_are_trace_entries_and_a_string_result_is_the_response(
    rows: Rows,
) -> None:
    graph = rows.monitor.instrument(summing)
    config = thread()

    assert graph.invoke(3, config) == "sum 6"

    row = await rows.one(config["configurable"]["thread_id"])
    assert (row["status"], row["response_message"]) == ("completed", "sum 6")
    assert [(e["node"], e["type"]) for e in row["execution_trace"]] == [
        ("double", "task"),
        ("double", "task"),
        ("double", "task"),
        ("summing", "node"),
    ]
    # Each entry's output is what that task or the entrypoint returned.
    assert [e["output"] for e in row["execution_trace"]] == [0, 2, 4, "sum 6"]


async def test_a_failing_task_not_its_entrypoint_is_the_failed_node(rows: Rows) -> None:
    graph = rows.monitor.instrument(dividing)
    config = thread()

    with pytest.raises(ZeroDivisionError):
        graph.invoke(0, config)

    row = await rows.one(config["configurable"]["thread_id"])
    assert (row["status"], row["failed_nodes"]) == ("failed", ["divide"])
    assert row["error_summary"] == "division by zero"
    assert nodes(row) == [("divide", "failed"), ("dividing", "failed")]


# -- tokens in the read side ----------------------------------------------------------


async def test_tokens_reach_stats_the_listing_the_execution_and_the_daily_view(
    rows: Rows, db: asyncpg.Connection
) -> None:
    agent = rows.monitor.instrument(
        create_react_agent(ToolCallingFake(messages=weather_turns()), [weather])
    )
    config = {"configurable": {"thread_id": f"thread-{uuid.uuid4()}", "user_id": "ada"}}
    await agent.ainvoke({"messages": [("user", "Weather?")]}, config)
    (row,) = await rows.of(config["configurable"]["thread_id"])

    stats = json.loads(await db.fetchval("SELECT execution_stats(24)::text"))
    listing = json.loads(await db.fetchval("SELECT list_executions()::text"))
    detail = json.loads(await db.fetchval("SELECT get_execution($1)::text", row["id"]))
    daily = await db.fetchrow("SELECT * FROM token_usage_daily WHERE user_id = 'ada'")

    assert (stats["input_tokens"], stats["output_tokens"], stats["total_tokens"]) == (40, 13, 53)
    assert listing["logs"][0]["total_tokens"] == 53
    assert (detail["total_tokens"], detail["llm_calls"]) == (53, 2)
    assert detail["input"]["messages"][0][1] == "Weather?"
    assert (daily["runs"], daily["llm_calls"], daily["total_tokens"]) == (1, 2, 53)


async def test_a_model_streamed_inside_a_node_is_one_llm_call_with_its_tokens(
    rows: Rows,
) -> None:
    class StreamingWithUsage(GenericFakeChatModel):
        """Streams like a provider that reports usage on its last chunk."""

        def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any):
            yield ChatGenerationChunk(message=AIMessageChunk(content="streamed "))
            yield ChatGenerationChunk(
                message=AIMessageChunk(content="answer", usage_metadata=usage(7, 3))
            )

    model = StreamingWithUsage(messages=iter([]))

    async def talk(state: MessagesState) -> dict[str, Any]:
        text = "".join([chunk.content async for chunk in model.astream(state["messages"])])
        return {"messages": [AIMessage(text)]}

    builder = StateGraph(MessagesState)
    builder.add_node("talk", talk)
    builder.add_edge(START, "talk")
    graph = rows.monitor.instrument(builder.compile())
    config = thread()

    await graph.ainvoke(HI, config)

    row = await rows.one(config["configurable"]["thread_id"])
    assert (row["llm_calls"], row["total_tokens"]) == (1, 10)
    assert row["response_message"] == "streamed answer"


async def test_streaming_messages_keeps_each_nodes_output(rows: Rows) -> None:
    answer = iter([AIMessage("Sunny in Paris.")])
    agent = rows.monitor.instrument(create_react_agent(ToolCallingFake(messages=answer), [weather]))
    config = thread()

    chunks = [c async for c in agent.astream(HI, config, stream_mode="messages")]

    assert chunks  # LangGraph streamed the model's tokens
    row = await rows.one(config["configurable"]["thread_id"])
    (step,) = [e for e in row["execution_trace"] if e["node"] == "agent"]
    assert step["output"]["messages"][0]["content"] == "Sunny in Paris."
    assert (row["response_message"], row["llm_calls"]) == ("Sunny in Paris.", 1)
