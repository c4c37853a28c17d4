"""State shapes of the demo conversational agent.

Kept apart from the nodes so that the graph wiring, the nodes and the tests can share
one definition of what flows between steps.
"""

import operator
from typing import Annotated, Any, TypedDict


class Draft(TypedDict):
    platform: str
    text: str


class Unavailable(TypedDict):
    platform: str
    reason: str


class PlatformPlan(TypedDict):
    platform: str
    max_length: int
    tone: str


class AgentState(TypedDict, total=False):
    """The conversation turn as it moves through the graph."""

    message: str
    user_id: str
    conversation_id: str | None
    blocked: bool
    intent: str
    topic: str
    platforms: list[str]
    profile: dict[str, Any]
    plans: list[PlatformPlan]
    unavailable: list[Unavailable]
    # Parallel platform branches each add their draft; the reducer merges them.
    drafts: Annotated[list[Draft], operator.add]
    response: str


class PlatformState(TypedDict, total=False):
    """Input and working state of the per-platform drafting subgraph (one per Send)."""

    platform: str
    topic: str
    max_length: int
    tone: str
    author: str
    text: str
    drafts: Annotated[list[Draft], operator.add]


class PlatformOutput(TypedDict):
    """What a platform branch hands back to the parent graph."""

    drafts: Annotated[list[Draft], operator.add]
