"""A run's request and response text, read from whatever shapes LangGraph apps use:
the common ones (dicts, tuples, LangChain messages) on a fast path, any other mapping,
sequence or message-like object the same way."""

import types
from collections import UserDict, UserList
from typing import Any

import orjson
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langgraph_execution_monitor.serialize import request_text, response_text, to_json


class Note:
    """Not a LangChain message, but shaped like one."""

    def __init__(self, type: str, content: Any) -> None:
        self.type = type
        self.content = content


def test_the_request_is_read_from_any_mapping_not_only_a_dict() -> None:
    given = types.MappingProxyType({"messages": UserList([("user", "from a proxy")])})

    assert request_text(given) == "from a proxy"
    assert request_text(UserDict({"message": "from a user dict"})) == "from a user dict"


def test_the_request_is_the_last_human_message_whatever_its_shape() -> None:
    messages = [
        ("user", "first"),
        {"role": "assistant", "content": "an answer"},
        HumanMessage("second"),
        Note("human", "third"),
        AIMessage("not this one"),
    ]

    assert request_text({"messages": messages}) == "third"
    assert request_text({"messages": messages[:3]}) == "second"
    assert request_text({"messages": messages[:2]}) == "first"


def test_the_response_is_the_last_ai_message_of_a_state_whatever_its_shape() -> None:
    assert response_text({"messages": [HumanMessage("q"), AIMessage("a message")]}) == ("a message")
    assert response_text({"messages": [("ai", "a tuple"), ("user", "q")]}) == "a tuple"
    assert response_text(Note("ai", "message-like")) == "message-like"


def test_messages_in_an_output_are_stored_as_their_type_content_and_extras() -> None:
    call = {"name": "weather", "args": {"city": "Paris"}, "id": "c1", "type": "tool_call"}
    output = {
        "messages": [
            AIMessage("", tool_calls=[call]),
            ToolMessage("sun", tool_call_id="c1", name="weather"),
            Note("human", "like a message"),
        ]
    }

    stored = orjson.loads(to_json(output))

    assert stored["messages"][0] == {"type": "ai", "content": "", "tool_calls": [call]}
    assert stored["messages"][1] == {
        "type": "tool",
        "content": "sun",
        "name": "weather",
        "tool_call_id": "c1",
        "status": "success",
    }
    assert stored["messages"][2] == {"type": "human", "content": "like a message"}
