"""The demo conversational agent's graph: the workload the execution monitor watches.

It mirrors the seed's production agent (guardrail_check → intent_classifier →
data_checker → multi_platform_orchestrator → one drafting branch per platform →
response_writer) with deterministic nodes, so that every outcome the monitor must record
can be produced on demand, and so that benchmarks measure the monitor, not an LLM.

Shape worth knowing when reading a trace:

- ``platform_writer`` is a compiled subgraph (``draft_post`` → ``polish_post``) used as a
  node; the orchestrator fans out to it with ``Send``, one parallel branch per platform,
  so its children appear with ``parent="platform_writer"`` and share a step.
- ``data_checker`` has a RetryPolicy for ``ConnectionError`` (no back-off delay).

Demo inputs (`DEMO_INPUTS`) and what the monitor records for them:

- completed: "Create a LinkedIn post about AI" — no failed node.
- partial: "Create a post about AI for twitter and linkedin" — Twitter is not configured;
  ``multi_platform_orchestrator`` catches ``'NoneType' object has no attribute 'get'``,
  reports it, and the answer gives the LinkedIn post and says Twitter could not be done.
  failed_nodes ``["multi_platform_orchestrator"]``.
- failed: "Create a LinkedIn post about AI for my missing profile" — ``data_checker``
  calls ``.get`` on a missing profile and raises the same message; the run raises.
  failed_nodes ``["data_checker"]``.
- retried: "Create a LinkedIn post about AI (flaky profile service)" — attempt 1 of
  ``data_checker`` fails with a timeout, attempt 2 succeeds; the run is completed.
- Parallel branches: "Create a post about AI for linkedin and facebook" (two drafting
  branches in one step), completed.

``build_graph(node_delay=0.05)`` adds a sleep to every node for a realistic-looking demo;
the default is no delay at all.
"""

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from app.agents.conversational_graph import nodes
from app.agents.conversational_graph.state import (
    AgentState,
    PlatformOutput,
    PlatformState,
)

NodeFn = Callable[..., Awaitable[dict[str, Any]]]


class DemoInput(NamedTuple):
    message: str
    status: str  # what the monitor records for the run
    failed_nodes: list[str]
    error_summary: str | None
    retried_node: str | None = None


_NONE_GET = "'NoneType' object has no attribute 'get'"

DEMO_INPUTS: dict[str, DemoInput] = {
    "completed": DemoInput("Create a LinkedIn post about AI", "completed", [], None),
    "partial": DemoInput(
        "Create a post about AI for twitter and linkedin",
        "partial",
        ["multi_platform_orchestrator"],
        _NONE_GET,
    ),
    "failed": DemoInput(
        "Create a LinkedIn post about AI for my missing profile",
        "failed",
        ["data_checker"],
        _NONE_GET,
    ),
    "retried": DemoInput(
        "Create a LinkedIn post about AI (flaky profile service)",
        "completed",
        [],
        None,
        retried_node="data_checker",
    ),
    "parallel": DemoInput(
        "Create a post about AI for linkedin and facebook", "completed", [], None
    ),
}

# The flaky profile service deserves a quick second try, not a back-off.
DATA_CHECKER_RETRY = RetryPolicy(
    initial_interval=0.0, jitter=False, max_attempts=3, retry_on=ConnectionError
)


def _delayed(fn: NodeFn, delay: float) -> NodeFn:
    if delay <= 0:
        return fn

    @functools.wraps(fn)
    async def node(*args: Any, **kwargs: Any) -> dict[str, Any]:
        await asyncio.sleep(delay)
        return await fn(*args, **kwargs)

    return node


def build_platform_writer(node_delay: float = 0.0) -> CompiledStateGraph:
    """The per-platform drafting subgraph (one run per platform branch)."""
    builder = StateGraph(PlatformState, output_schema=PlatformOutput)
    builder.add_node("draft_post", _delayed(nodes.draft_post, node_delay))
    builder.add_node("polish_post", _delayed(nodes.polish_post, node_delay))
    builder.add_edge(START, "draft_post")
    builder.add_edge("draft_post", "polish_post")
    builder.add_edge("polish_post", END)
    return builder.compile()


def build_graph(node_delay: float = 0.0) -> CompiledStateGraph:
    """Compile the demo agent. ``node_delay`` (seconds) slows every node for demos."""
    builder = StateGraph(AgentState)
    builder.add_node("guardrail_check", _delayed(nodes.guardrail_check, node_delay))
    builder.add_node("intent_classifier", _delayed(nodes.intent_classifier, node_delay))
    builder.add_node(
        "data_checker",
        _delayed(nodes.data_checker, node_delay),
        retry_policy=DATA_CHECKER_RETRY,
    )
    builder.add_node(
        "multi_platform_orchestrator",
        _delayed(nodes.multi_platform_orchestrator, node_delay),
    )
    builder.add_node("platform_writer", build_platform_writer(node_delay))
    builder.add_node("response_writer", _delayed(nodes.response_writer, node_delay))

    builder.add_edge(START, "guardrail_check")
    builder.add_conditional_edges(
        "guardrail_check",
        nodes.route_after_guardrail,
        ["intent_classifier", "response_writer"],
    )
    builder.add_conditional_edges(
        "intent_classifier",
        nodes.route_after_intent,
        ["data_checker", "response_writer"],
    )
    builder.add_edge("data_checker", "multi_platform_orchestrator")
    builder.add_conditional_edges(
        "multi_platform_orchestrator",
        nodes.fan_out_platforms,
        ["platform_writer", "response_writer"],
    )
    builder.add_edge("platform_writer", "response_writer")
    builder.add_edge("response_writer", END)
    return builder.compile()


def initial_state(
    message: str, user_id: str = "anonymous", conversation_id: str | None = None
) -> AgentState:
    """The graph input for one conversation turn."""
    return AgentState(
        message=message,
        user_id=user_id,
        conversation_id=conversation_id,
        drafts=[],
    )


def response_of(state: Any) -> str | None:
    """The turn's answer in a final state (what the monitor stores as the response)."""
    if isinstance(state, dict):
        return state.get("response")
    return None
