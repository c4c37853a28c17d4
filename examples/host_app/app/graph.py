"""The host's own LangGraph graph: a `messages` state, one node answering."""

from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph


def answer(state: MessagesState) -> dict[str, list[AIMessage]]:
    question = state["messages"][-1].content
    return {"messages": [AIMessage(f"You asked: {question}")]}


def build_graph():  # type: ignore[no-untyped-def]
    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    return builder.compile()
