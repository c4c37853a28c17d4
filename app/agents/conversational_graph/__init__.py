"""Demo conversational agent (deterministic, no LLM): the graph the monitor watches."""

from app.agents.conversational_graph.graph import (
    DEMO_INPUTS,
    DemoInput,
    build_graph,
    initial_state,
    response_of,
)

__all__ = ["DEMO_INPUTS", "DemoInput", "build_graph", "initial_state", "response_of"]
