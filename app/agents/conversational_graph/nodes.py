"""The demo agent's nodes: deterministic stand-ins for an LLM agent's steps.

They do no I/O and no LLM calls, so the graph is fast enough to be the benchmark
workload, yet they fail the way the seed's production agent did: a node that raises
(``'NoneType' object has no attribute 'get'`` on a missing profile), a node that catches
a platform's error and leaves a partial answer, and a flaky dependency that a
RetryPolicy recovers from.
"""

import re
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from app.agents.conversational_graph.state import (
    AgentState,
    PlatformPlan,
    PlatformState,
    Unavailable,
)
from langgraph_execution_monitor.capture import report_node_error

BLOCKED_WORDS = ("password", "credit card number", "hack into")
KNOWN_PLATFORMS = ("linkedin", "twitter", "facebook", "instagram")
PLATFORM_LABELS = {
    "linkedin": "LinkedIn",
    "twitter": "Twitter",
    "facebook": "Facebook",
    "instagram": "Instagram",
}

# Per-platform publishing settings. Twitter's integration is "not configured" (None),
# the way the seed's state held None instead of an empty dict: the orchestrator trips
# on it, catches the error and carries on with the other platforms.
PLATFORM_SETTINGS: dict[str, dict[str, Any] | None] = {
    "linkedin": {"max_length": 3000, "tone": "professional"},
    "twitter": None,
    "facebook": {"max_length": 2000, "tone": "friendly"},
    "instagram": {"max_length": 2200, "tone": "playful"},
}

DEFAULT_PROFILE = {"display_name": "Demo User", "industry": "technology"}


class ProfileServiceTimeout(ConnectionError):
    """The (simulated) profile service did not answer in time: worth a retry."""


def _lookup_profile(user_id: str, message: str) -> dict[str, Any] | None:
    if "missing profile" in message.lower():
        return None
    return {**DEFAULT_PROFILE, "user_id": user_id}


async def guardrail_check(state: AgentState) -> dict[str, Any]:
    text = state.get("message", "").lower()
    return {"blocked": any(word in text for word in BLOCKED_WORDS)}


async def intent_classifier(state: AgentState) -> dict[str, Any]:
    text = state.get("message", "")
    lowered = text.lower()
    if not re.search(r"\b(post|create|write|draft|publish)\b", lowered):
        return {"intent": "chat", "platforms": [], "topic": ""}
    platforms = [p for p in KNOWN_PLATFORMS if p in lowered]
    match = re.search(r"\babout\s+(.+?)(?:\s+for\b|[.!?(]|$)", text, re.IGNORECASE)
    topic = match.group(1).strip() if match else "our latest news"
    return {"intent": "create_post", "platforms": platforms or ["linkedin"], "topic": topic}


async def data_checker(state: AgentState, runtime: Runtime) -> dict[str, Any]:
    message = state.get("message", "")
    info = runtime.execution_info
    attempt = info.node_attempt if info is not None else 1
    if "flaky" in message.lower() and attempt == 1:
        raise ProfileServiceTimeout("profile service timed out")
    profile = _lookup_profile(state.get("user_id", "anonymous"), message)
    # No guard on purpose: a missing profile reproduces the seed's production error.
    author = profile.get("display_name")  # type: ignore[union-attr]
    return {"profile": {**profile, "display_name": author}}  # type: ignore[dict-item]


async def multi_platform_orchestrator(state: AgentState) -> dict[str, Any]:
    plans: list[PlatformPlan] = []
    unavailable: list[Unavailable] = []
    for platform in state.get("platforms", []):
        settings = PLATFORM_SETTINGS.get(platform)
        try:
            plans.append(
                PlatformPlan(
                    platform=platform,
                    max_length=settings.get("max_length"),  # type: ignore[union-attr]
                    tone=settings.get("tone"),  # type: ignore[union-attr]
                )
            )
        except AttributeError as exc:
            # One platform must not sink the others: answer with what works and say
            # what did not, but let the monitor know this node failed.
            report_node_error(exc)
            unavailable.append(Unavailable(platform=platform, reason=str(exc)))
    return {"plans": plans, "unavailable": unavailable}


def route_after_guardrail(state: AgentState) -> str:
    return "response_writer" if state.get("blocked") else "intent_classifier"


def route_after_intent(state: AgentState) -> str:
    return "data_checker" if state.get("intent") == "create_post" else "response_writer"


def fan_out_platforms(state: AgentState) -> list[Send] | str:
    """One drafting branch per platform that has a plan; they run in parallel."""
    author = state.get("profile", {}).get("display_name", "")
    sends = [
        Send(
            "platform_writer",
            PlatformState(
                platform=plan["platform"],
                topic=state.get("topic", ""),
                max_length=plan["max_length"],
                tone=plan["tone"],
                author=author,
            ),
        )
        for plan in state.get("plans", [])
    ]
    return sends or "response_writer"


async def draft_post(state: PlatformState) -> dict[str, Any]:
    label = PLATFORM_LABELS.get(state["platform"], state["platform"])
    text = (
        f"[{label}, {state.get('tone', 'neutral')}] {state.get('author', '')} on "
        f"{state.get('topic', '')}: here is what we learned and why it matters."
    )
    return {"text": text}


async def polish_post(state: PlatformState) -> dict[str, Any]:
    text = state.get("text", "")[: state.get("max_length", 280)]
    return {"drafts": [{"platform": state["platform"], "text": text}]}


async def response_writer(state: AgentState) -> dict[str, Any]:
    if state.get("blocked"):
        return {"response": "Sorry, I can't help with that request."}
    if state.get("intent") != "create_post":
        return {"response": "Hi! Ask me to create a post, e.g. 'Create a LinkedIn post about AI'."}
    order = {p: i for i, p in enumerate(state.get("platforms", []))}
    drafts = sorted(state.get("drafts", []), key=lambda d: order.get(d["platform"], 99))
    parts = [
        f"Here is your {PLATFORM_LABELS.get(d['platform'], d['platform'])} post:\n{d['text']}"
        for d in drafts
    ]
    for miss in state.get("unavailable", []):
        label = PLATFORM_LABELS.get(miss["platform"], miss["platform"])
        parts.append(f"I wasn't able to generate the {label} post ({miss['reason']}).")
    return {"response": "\n\n".join(parts)}
