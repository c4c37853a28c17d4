"""Specification of the capture side of the execution monitor.

Each test builds a small real LangGraph graph, runs it through the monitor with a plain
list as the sink, and checks what was recorded (and that the graph's behaviour did not
change). No database: the writer is someone else's concern.
"""

import asyncio
import operator
import re
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, RetryPolicy, Send, interrupt

import langgraph_execution_monitor.capture.compat as compat
import langgraph_execution_monitor.capture.graph as capture_graph
import langgraph_execution_monitor.capture.recording as recording
from langgraph_execution_monitor.capture import (
    ExecutionMonitor,
    new_execution_id,
    report_node_error,
)
from langgraph_execution_monitor.events import (
    ExecutionEvent,
    ExecutionFinished,
    ExecutionStarted,
)
from langgraph_execution_monitor.serialize import request_text

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class State(TypedDict, total=False):
    message: str
    log: Annotated[list[str], operator.add]
    response: str


def step(name: str) -> Callable[[State], Any]:
    async def node(state: State) -> dict[str, Any]:
        return {"log": [name]}

    return node


async def answer(state: State) -> dict[str, Any]:
    return {"response": "answer: " + ",".join(state.get("log", []))}


def chain(*names: str, finish: bool = True) -> CompiledStateGraph:
    builder = StateGraph(State)
    previous = START
    for name in names:
        builder.add_node(name, step(name))
        builder.add_edge(previous, name)
        previous = name
    if finish:
        builder.add_node("answer", answer)
        builder.add_edge(previous, "answer")
        previous = "answer"
    builder.add_edge(previous, END)
    return builder.compile()


class Recorder:
    def __init__(self) -> None:
        self.events: list[ExecutionEvent] = []
        self.monitor = ExecutionMonitor(emit=self.events.append)

    def instrument(self, graph: Any) -> Any:
        return self.monitor.instrument(graph, response_of=lambda s: s.get("response"))

    @property
    def started(self) -> list[ExecutionStarted]:
        return [e for e in self.events if isinstance(e, ExecutionStarted)]

    @property
    def finished(self) -> list[ExecutionFinished]:
        return [e for e in self.events if isinstance(e, ExecutionFinished)]

    @property
    def last(self) -> ExecutionFinished:
        return self.finished[-1]


def nodes_of(finished: ExecutionFinished) -> list[tuple[str, str]]:
    return [(e["node"], e["status"]) for e in finished.trace_dicts()]


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


INPUT: State = {"message": "hello", "log": []}


async def test_run_emits_one_start_and_one_finish_with_the_same_id(rec: Recorder) -> None:
    graph = rec.instrument(chain("a", "b"))

    await graph.ainvoke(INPUT, user_id="u1", conversation_id="c1", request_message="hi")

    assert len(rec.started) == 1 and len(rec.finished) == 1
    start, finish = rec.started[0], rec.finished[0]
    assert isinstance(rec.events[0], ExecutionStarted)
    assert start.execution_id == finish.execution_id
    assert UUID_RE.match(start.execution_id)
    assert (start.user_id, start.conversation_id, start.request_message) == ("u1", "c1", "hi")
    assert finish.started_at == start.started_at <= finish.completed_at
    assert (finish.status, finish.response_message) == ("completed", "answer: a,b")
    assert finish.failed_nodes == [] and finish.error_summary is None


async def test_completed_run_traces_every_node_in_order(rec: Recorder) -> None:
    graph = rec.instrument(chain("a", "b", "c"))

    await graph.ainvoke(INPUT, user_id="u1")

    trace = rec.last.trace_dicts()
    assert [e["node"] for e in trace] == ["a", "b", "c", "answer"]
    assert [e["step"] for e in trace] == [1, 2, 3, 4]
    for entry in trace:
        assert entry["status"] == "completed"
        assert entry["parent"] is None and entry["attempt"] == 1
        assert "error" not in entry
        assert entry["execution_time_ms"] >= 0
        assert round(entry["execution_time_ms"], 3) == entry["execution_time_ms"]
        assert rec.last.started_at <= entry["started_at"] <= entry["timestamp"]
        assert entry["timestamp"] <= rec.last.completed_at
    ends = [e["timestamp"] for e in trace]
    assert ends == sorted(ends)


async def test_result_is_identical_to_the_unmonitored_graph(rec: Recorder) -> None:
    plain = chain("a", "b")
    graph = rec.instrument(chain("a", "b"))

    assert await graph.ainvoke(INPUT, user_id="u") == await plain.ainvoke(INPUT)


async def test_caller_given_execution_id_is_used(rec: Recorder) -> None:
    graph = rec.instrument(chain("a"))
    execution_id = new_execution_id()

    await graph.ainvoke(INPUT, user_id="u", execution_id=execution_id)

    assert rec.started[0].execution_id == rec.last.execution_id == execution_id


def test_new_execution_ids_are_distinct_time_ordered_uuid7_strings() -> None:
    ids = {new_execution_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 36 and UUID_RE.match(i) for i in ids)


async def test_request_message_defaults_to_the_input_message(rec: Recorder) -> None:
    graph = rec.instrument(chain("a"))

    await graph.ainvoke({"message": "make a post"}, user_id="u")

    assert request_text(rec.started[0].request_message) == "make a post"
    assert request_text(rec.last.request_message) == "make a post"
    assert rec.started[0].conversation_id is None


async def test_parallel_branches_share_a_step(rec: Recorder) -> None:
    builder = StateGraph(State)
    for name in ("split", "left", "right"):
        builder.add_node(name, step(name))
    builder.add_node("answer", answer)
    builder.add_edge(START, "split")
    builder.add_edge("split", "left")
    builder.add_edge("split", "right")
    builder.add_edge(["left", "right"], "answer")
    graph = rec.instrument(builder.compile())

    await graph.ainvoke(INPUT, user_id="u")

    steps = {e["node"]: e["step"] for e in rec.last.trace_dicts()}
    assert steps["left"] == steps["right"] == steps["split"] + 1
    assert steps["answer"] == steps["left"] + 1
    assert rec.last.status == "completed"


async def test_send_fan_out_records_one_entry_per_branch(rec: Recorder) -> None:
    async def branch(arg: dict[str, str]) -> dict[str, Any]:
        return {"log": [arg["item"]]}

    builder = StateGraph(State)
    builder.add_node("plan", step("plan"))
    builder.add_node("branch", branch)
    builder.add_node("answer", answer)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges(
        "plan", lambda s: [Send("branch", {"item": i}) for i in ("x", "y", "z")], ["branch"]
    )
    builder.add_edge("branch", "answer")
    graph = rec.instrument(builder.compile())

    await graph.ainvoke(INPUT, user_id="u")

    branches = [e for e in rec.last.trace_dicts() if e["node"] == "branch"]
    assert len(branches) == 3
    assert {e["step"] for e in branches} == {2}
    assert all(e["status"] == "completed" for e in branches)


async def test_subgraph_children_have_their_parent_set(rec: Recorder) -> None:
    inner = chain("deep", finish=False)
    middle = StateGraph(State)
    middle.add_node("inner", inner)
    middle.add_node("mid_step", step("mid_step"))
    middle.add_edge(START, "inner")
    middle.add_edge("inner", "mid_step")
    outer = StateGraph(State)
    outer.add_node("outer", middle.compile())
    outer.add_node("answer", answer)
    outer.add_edge(START, "outer")
    outer.add_edge("outer", "answer")
    graph = rec.instrument(outer.compile())

    result = await graph.ainvoke(INPUT, user_id="u")

    assert result["log"] == ["deep", "mid_step"]
    parents = [(e["node"], e["parent"]) for e in rec.last.trace_dicts()]
    assert parents == [
        ("deep", "outer/inner"),
        ("inner", "outer"),
        ("mid_step", "outer"),
        ("outer", None),
        ("answer", None),
    ]
    assert rec.last.status == "completed"


async def test_retry_records_each_attempt_and_a_recovered_run_is_completed(
    rec: Recorder,
) -> None:
    calls = 0

    async def flaky(state: State) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("service timed out")
        return {"log": ["flaky"]}

    builder = StateGraph(State)
    builder.add_node(
        "flaky",
        flaky,
        retry_policy=RetryPolicy(initial_interval=0, jitter=False, retry_on=ConnectionError),
    )
    builder.add_node("answer", answer)
    builder.add_edge(START, "flaky")
    builder.add_edge("flaky", "answer")
    graph = rec.instrument(builder.compile())

    await graph.ainvoke(INPUT, user_id="u")

    attempts = [
        (e["attempt"], e["status"], e.get("error"), e["step"])
        for e in rec.last.trace_dicts()
        if e["node"] == "flaky"
    ]
    assert attempts == [(1, "failed", "service timed out", 1), (2, "completed", None, 1)]
    assert rec.last.status == "completed"
    assert rec.last.failed_nodes == [] and rec.last.error_summary is None


async def test_retries_that_run_out_fail_the_node_once(rec: Recorder) -> None:
    async def broken(state: State) -> dict[str, Any]:
        raise ConnectionError("still down")

    builder = StateGraph(State)
    builder.add_node(
        "broken",
        broken,
        retry_policy=RetryPolicy(
            initial_interval=0, jitter=False, max_attempts=3, retry_on=ConnectionError
        ),
    )
    builder.add_edge(START, "broken")
    graph = rec.instrument(builder.compile())

    with pytest.raises(ConnectionError):
        await graph.ainvoke(INPUT, user_id="u")

    assert [e["attempt"] for e in rec.last.trace_dicts()] == [1, 2, 3]
    assert rec.last.failed_nodes == ["broken"]
    assert (rec.last.status, rec.last.error_summary) == ("failed", "still down")


async def test_node_that_raises_fails_the_run_and_the_same_exception_is_raised(
    rec: Recorder,
) -> None:
    raised: list[BaseException] = []

    async def bad(state: State) -> dict[str, Any]:
        try:
            None.get("profile")  # type: ignore[attr-defined]
        except AttributeError as exc:
            raised.append(exc)
            raise
        return {}

    builder = StateGraph(State)
    builder.add_node("ok", step("ok"))
    builder.add_node("bad", bad)
    builder.add_node("answer", answer)
    builder.add_edge(START, "ok")
    builder.add_edge("ok", "bad")
    builder.add_edge("bad", "answer")
    graph = rec.instrument(builder.compile())

    with pytest.raises(AttributeError) as caught:
        await graph.ainvoke(INPUT, user_id="u")

    assert caught.value is raised[0]
    finished = rec.last
    message = "'NoneType' object has no attribute 'get'"
    assert (finished.status, finished.error_summary) == ("failed", message)
    assert finished.failed_nodes == ["bad"]
    assert finished.response_message is None
    assert nodes_of(finished) == [("ok", "completed"), ("bad", "failed")]
    assert finished.trace_dicts()[-1]["error"] == message


async def test_exception_with_empty_message_is_summarised_by_its_type(rec: Recorder) -> None:
    async def bad(state: State) -> dict[str, Any]:
        raise KeyError()

    builder = StateGraph(State)
    builder.add_node("bad", bad)
    builder.add_edge(START, "bad")
    graph = rec.instrument(builder.compile())

    with pytest.raises(KeyError):
        await graph.ainvoke(INPUT, user_id="u")

    assert rec.last.error_summary == "KeyError"


async def test_sibling_cancelled_by_a_failure_is_recorded_as_cancelled(rec: Recorder) -> None:
    async def fails_fast(state: State) -> dict[str, Any]:
        await asyncio.sleep(0)
        raise ValueError("branch broke")

    async def slow(state: State) -> dict[str, Any]:
        await asyncio.sleep(5)
        return {"log": ["slow"]}

    builder = StateGraph(State)
    builder.add_node("fails_fast", fails_fast)
    builder.add_node("slow", slow)
    builder.add_edge(START, "fails_fast")
    builder.add_edge(START, "slow")
    graph = rec.instrument(builder.compile())

    with pytest.raises(ValueError, match="branch broke"):
        await asyncio.wait_for(graph.ainvoke(INPUT, user_id="u"), timeout=2)

    finished = rec.last
    assert sorted(nodes_of(finished)) == [("fails_fast", "failed"), ("slow", "cancelled")]
    assert finished.failed_nodes == ["fails_fast"]
    assert "error" not in next(e for e in finished.trace_dicts() if e["node"] == "slow")


async def test_interrupt_is_recorded_as_interrupted_not_failed(rec: Recorder) -> None:
    async def ask(state: State) -> dict[str, Any]:
        return {"response": interrupt("approve?")}

    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = rec.instrument(builder.compile(checkpointer=InMemorySaver()))
    config = {"configurable": {"thread_id": "t-interrupt"}}

    paused = await graph.ainvoke(INPUT, config, user_id="u")

    assert "__interrupt__" in paused
    assert nodes_of(rec.last) == [("ask", "interrupted")]
    assert rec.last.status == "interrupted"
    assert rec.last.failed_nodes == [] and rec.last.error_summary is None

    resumed = await graph.ainvoke(Command(resume="yes"), config, user_id="u")

    assert resumed["response"] == "yes"
    assert nodes_of(rec.last) == [("ask", "completed")]
    assert (rec.last.status, rec.last.response_message) == ("completed", "yes")


async def test_parent_command_from_a_subgraph_node_is_not_a_failure(rec: Recorder) -> None:
    async def escalate(state: State) -> Command:
        return Command(graph=Command.PARENT, goto="answer", update={"log": ["escalated"]})

    sub = StateGraph(State)
    sub.add_node("escalate", escalate)
    sub.add_edge(START, "escalate")
    builder = StateGraph(State)
    builder.add_node("sub", sub.compile())
    builder.add_node("answer", answer)
    builder.add_edge(START, "sub")
    graph = rec.instrument(builder.compile())

    result = await graph.ainvoke(INPUT, user_id="u")

    assert result["response"] == "answer: escalated"
    assert nodes_of(rec.last) == [
        ("escalate", "completed"),
        ("sub", "completed"),
        ("answer", "completed"),
    ]
    assert rec.last.status == "completed" and rec.last.failed_nodes == []


async def test_caught_and_reported_error_makes_the_run_partial(rec: Recorder) -> None:
    async def careful(state: State) -> dict[str, Any]:
        try:
            None.get("twitter")  # type: ignore[attr-defined]
        except AttributeError as exc:
            report_node_error(exc)
        return {"log": ["careful"]}

    builder = StateGraph(State)
    builder.add_node("careful", careful)
    builder.add_node("answer", answer)
    builder.add_edge(START, "careful")
    builder.add_edge("careful", "answer")
    graph = rec.instrument(builder.compile())

    result = await graph.ainvoke(INPUT, user_id="u")

    message = "'NoneType' object has no attribute 'get'"
    assert result["response"] == "answer: careful"
    assert rec.last.status == "partial"
    assert rec.last.response_message == "answer: careful"
    assert (rec.last.failed_nodes, rec.last.error_summary) == (["careful"], message)
    assert nodes_of(rec.last) == [("careful", "failed"), ("answer", "completed")]
    assert rec.last.trace_dicts()[0]["error"] == message


def test_report_node_error_outside_a_monitored_run_does_nothing() -> None:
    report_node_error(RuntimeError("nobody is listening"))


async def test_run_with_no_response_is_failed(rec: Recorder) -> None:
    graph = rec.instrument(chain("a", finish=False))

    result = await graph.ainvoke(INPUT, user_id="u")

    assert "response" not in result
    assert rec.last.status == "failed"
    assert rec.last.response_message is None
    assert rec.last.failed_nodes == []
    assert rec.last.error_summary == "run produced no response"


async def test_failing_sink_does_not_break_the_run(caplog: pytest.LogCaptureFixture) -> None:
    def broken_sink(event: ExecutionEvent) -> None:
        raise RuntimeError("queue is gone")

    graph = ExecutionMonitor(emit=broken_sink).instrument(chain("a"))

    result = await graph.ainvoke(INPUT, user_id="u")

    assert result["response"] == "answer: a"
    assert "sink failed" in caplog.text


async def test_monitor_bug_does_not_break_the_run(
    rec: Recorder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def bug(*args: Any) -> None:
        raise RuntimeError("monitor bug")

    graph = rec.instrument(chain("a", "b"))
    monkeypatch.setattr(recording, "_append", bug)
    monkeypatch.setattr(capture_graph, "finished_event", bug)

    result = await graph.ainvoke(INPUT, user_id="u")

    assert result == await chain("a", "b").ainvoke(INPUT)
    assert "monitor bug" in caplog.text


async def test_monitor_bug_at_start_does_not_break_the_run(
    rec: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(*args: Any) -> None:
        raise RuntimeError("monitor bug")

    graph = rec.instrument(chain("a"))
    monkeypatch.setattr(compat, "Frame", bug)
    monkeypatch.setattr(capture_graph, "Run", bug)

    assert (await graph.ainvoke(INPUT, user_id="u"))["response"] == "answer: a"
    chunks = [c async for c in graph.astream(INPUT, user_id="u")]
    assert chunks[-1] == {"answer": {"response": "answer: a"}}


def with_subgraph() -> CompiledStateGraph:
    builder = StateGraph(State)
    builder.add_node("sub", chain("x", "y", finish=False))
    builder.add_node("answer", answer)
    builder.add_edge(START, "sub")
    builder.add_edge("sub", "answer")
    return builder.compile()


def normalise(chunks: list[Any]) -> list[Any]:
    """Subgraph namespaces carry per-run task ids ("sub:<uuid>"): keep the names."""

    def ns(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(n.split(":")[0] for n in names)

    out: list[Any] = []
    for chunk in chunks:
        if isinstance(chunk, dict) and "ns" in chunk:
            chunk = {**chunk, "ns": ns(chunk["ns"])}
        elif isinstance(chunk, tuple) and chunk and isinstance(chunk[0], tuple):
            chunk = (ns(chunk[0]), *chunk[1:])
        out.append(chunk)
    return out


@pytest.mark.parametrize(
    "stream_kwargs",
    [
        {},
        {"stream_mode": "values"},
        {"stream_mode": "updates"},
        {"stream_mode": ["updates", "custom"]},
        {"stream_mode": ["values", "updates"]},
        {"stream_mode": "updates", "subgraphs": True},
        {"stream_mode": ["updates", "values"], "subgraphs": True},
        {"version": "v2"},
        {"stream_mode": "values", "version": "v2"},
    ],
    ids=repr,
)
async def test_astream_yields_the_same_chunks_as_unmonitored(
    rec: Recorder, stream_kwargs: dict[str, Any]
) -> None:
    plain = [c async for c in with_subgraph().astream(INPUT, **stream_kwargs)]
    graph = rec.instrument(with_subgraph())

    monitored = [c async for c in graph.astream(INPUT, user_id="u", **stream_kwargs)]

    assert normalise(monitored) == normalise(plain)
    assert rec.last.status == "completed"
    assert rec.last.response_message == "answer: x,y"
    assert [e["node"] for e in rec.last.trace_dicts()] == ["x", "y", "sub", "answer"]


async def test_astream_closed_early_by_the_caller_is_failed(rec: Recorder) -> None:
    graph = rec.instrument(chain("a", "b", "c"))

    stream = graph.astream(INPUT, user_id="u")
    async for _chunk in stream:
        break
    await stream.aclose()

    assert len(rec.finished) == 1
    assert rec.last.status == "failed"
    assert rec.last.error_summary == "stream closed before the run finished"


async def test_instrumenting_twice_does_not_double_record(rec: Recorder) -> None:
    compiled = with_subgraph()
    rec.instrument(compiled)
    graph = rec.instrument(rec.instrument(compiled))

    await graph.ainvoke(INPUT, user_id="u")

    assert [e["node"] for e in rec.last.trace_dicts()] == ["x", "y", "sub", "answer"]
    assert len(rec.finished) == 1


async def test_uninstrumented_graph_records_nothing(rec: Recorder) -> None:
    graph = rec.instrument(chain("a"))
    rec.monitor.uninstrument(graph)

    result = await graph.ainvoke(INPUT)

    assert result["response"] == "answer: a"
    assert rec.events == []


async def test_sync_node_can_report_an_error(rec: Recorder) -> None:
    def sync_careful(state: State) -> dict[str, Any]:
        report_node_error("fallback used")
        return {"log": ["sync"]}

    builder = StateGraph(State)
    builder.add_node("sync_careful", sync_careful)
    builder.add_node("answer", answer)
    builder.add_edge(START, "sync_careful")
    builder.add_edge("sync_careful", "answer")
    graph = rec.instrument(builder.compile())

    await graph.ainvoke(INPUT, user_id="u")

    assert rec.last.status == "partial"
    assert (rec.last.failed_nodes, rec.last.error_summary) == (["sync_careful"], "fallback used")


async def test_concurrent_runs_keep_their_traces_apart(rec: Recorder) -> None:
    async def slow_step(state: State) -> dict[str, Any]:
        await asyncio.sleep(0.01)
        return {"log": [state["message"]]}

    builder = StateGraph(State)
    builder.add_node("slow_step", slow_step)
    builder.add_node("answer", answer)
    builder.add_edge(START, "slow_step")
    builder.add_edge("slow_step", "answer")
    graph = rec.instrument(builder.compile())

    await asyncio.gather(*(graph.ainvoke({"message": f"m{i}"}, user_id=f"u{i}") for i in range(5)))

    assert len(rec.finished) == 5
    for finished in rec.finished:
        assert [e["node"] for e in finished.trace_dicts()] == ["slow_step", "answer"]
        assert finished.response_message == f"answer: {request_text(finished.request_message)}"


async def test_retried_subgraph_node_that_recovers_leaves_the_run_completed(
    rec: Recorder,
) -> None:
    calls = 0

    async def inner_flaky(state: State) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("inner timed out")
        return {"log": ["inner_flaky"]}

    sub = StateGraph(State)
    sub.add_node("inner_flaky", inner_flaky)
    sub.add_edge(START, "inner_flaky")
    builder = StateGraph(State)
    builder.add_node(
        "sub",
        sub.compile(),
        retry_policy=RetryPolicy(initial_interval=0, jitter=False, retry_on=ConnectionError),
    )
    builder.add_node("answer", answer)
    builder.add_edge(START, "sub")
    builder.add_edge("sub", "answer")
    graph = rec.instrument(builder.compile())

    await graph.ainvoke(INPUT, user_id="u")

    assert [(e["node"], e["status"], e["attempt"]) for e in rec.last.trace_dicts()] == [
        ("inner_flaky", "failed", 1),
        ("sub", "failed", 1),
        ("inner_flaky", "completed", 1),
        ("sub", "completed", 2),
        ("answer", "completed", 1),
    ]
    assert (rec.last.status, rec.last.failed_nodes) == ("completed", [])


async def test_failure_inside_a_subgraph_fails_the_child_then_the_parent(rec: Recorder) -> None:
    async def inner_bad(state: State) -> dict[str, Any]:
        raise ValueError("inner broke")

    sub = StateGraph(State)
    sub.add_node("inner_bad", inner_bad)
    sub.add_edge(START, "inner_bad")
    builder = StateGraph(State)
    builder.add_node("sub", sub.compile())
    builder.add_edge(START, "sub")
    graph = rec.instrument(builder.compile())

    with pytest.raises(ValueError):
        await graph.ainvoke(INPUT, user_id="u")

    assert nodes_of(rec.last) == [("inner_bad", "failed"), ("sub", "failed")]
    assert rec.last.failed_nodes == ["inner_bad", "sub"]
    assert rec.last.error_summary == "inner broke"


def test_a_sync_fan_out_run_on_worker_threads_records_every_branch_with_its_update(
    rec: Recorder,
) -> None:
    # Sync branches run on LangGraph's thread pool, whose done callbacks (LangGraph's
    # commit of each task) run outside the run's context.
    def branch(arg: dict[str, str]) -> dict[str, Any]:
        return {"log": [arg["item"]]}

    def sync_answer(state: State) -> dict[str, Any]:
        return {"response": ",".join(sorted(state["log"]))}

    builder = StateGraph(State)
    builder.add_node("branch", branch)
    builder.add_node("answer", sync_answer)
    builder.add_conditional_edges(
        START, lambda s: [Send("branch", {"item": i}) for i in ("x", "y", "z")], ["branch"]
    )
    builder.add_edge("branch", "answer")
    graph = rec.instrument(builder.compile())

    assert graph.invoke(INPUT, user_id="u")["response"] == "x,y,z"

    branches = [e for e in rec.last.trace_dicts() if e["node"] == "branch"]
    assert sorted((e["branch"], e["output"]["log"][0]) for e in branches) == [
        (0, "x"),
        (1, "y"),
        (2, "z"),
    ]
    assert all(e["status"] == "completed" and e["parent"] is None for e in branches)
    assert rec.last.status == "completed"
    assert not recording._following  # nothing of the run is held after it


async def test_a_nodes_output_is_the_update_it_made_without_langgraphs_own_writes(
    rec: Recorder,
) -> None:
    async def route(state: State) -> Command[Any]:
        return Command(update={"log": ["routed"]}, goto="answer")

    builder = StateGraph(State)
    builder.add_node("route", route)
    builder.add_node("answer", answer)
    builder.add_edge(START, "route")
    graph = rec.instrument(builder.compile())

    await graph.ainvoke(INPUT, user_id="u")

    outputs = {e["node"]: e.get("output") for e in rec.last.trace_dicts()}
    assert outputs == {"route": {"log": ["routed"]}, "answer": {"response": "answer: routed"}}


async def test_a_run_cancelled_while_a_node_runs_records_that_node_as_cancelled(
    rec: Recorder,
) -> None:
    started = asyncio.Event()

    async def slow(state: State) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(60)
        return {}

    builder = StateGraph(State)
    builder.add_node("first", step("first"))
    builder.add_node("slow", slow)
    builder.add_edge(START, "first")
    builder.add_edge("first", "slow")
    graph = rec.instrument(builder.compile())

    run = asyncio.create_task(graph.ainvoke(INPUT, user_id="u"))
    await started.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run

    assert nodes_of(rec.last) == [("first", "completed"), ("slow", "cancelled")]
    assert rec.last.status == "failed"
    assert not recording._following


def test_the_self_check_names_a_runner_without_the_commit_it_follows_tasks_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langgraph.pregel import _runner

    assert compat.self_check() == []
    monkeypatch.delattr(_runner.PregelRunner, "commit")

    assert "PregelRunner.commit is missing" in compat.self_check()


def test_the_self_check_names_a_changed_task_id_config_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langgraph._internal import _constants

    monkeypatch.setattr(_constants, "CONFIG_KEY_TASK_ID", "__pregel_task")

    assert "langgraph's task id config key changed" in compat.self_check()
