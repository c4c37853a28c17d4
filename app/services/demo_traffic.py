"""`serve --demo`: a trickle of demo chat runs, so a newcomer sees live data
(completed, partial, failed and retried runs, as the demo inputs produce)."""

import asyncio
import logging
import random

from langgraph.pregel import Pregel

from app.agents.conversational_graph import DEMO_INPUTS
from app.services.chat import run_chat_turn

logger = logging.getLogger(__name__)

USERS = ["dev-user-001", "dev-user-002", "dev-user-003"]
# Mostly healthy traffic, with the failures a real agent shows.
WEIGHTS = {"completed": 6, "partial": 2, "failed": 1}


async def run_demo_traffic(graph: Pregel, runs_per_s: float) -> None:
    conversations = [f"demo-conv-{i}" for i in range(5)]
    demos = list(DEMO_INPUTS.values())
    weights = [WEIGHTS.get(demo.status, 1) for demo in demos]
    while True:
        demo = random.choices(demos, weights)[0]
        try:
            await run_chat_turn(
                graph, demo.message, random.choice(USERS), random.choice(conversations)
            )
        except Exception:
            logger.exception("demo run failed unexpectedly")
        await asyncio.sleep(random.expovariate(runs_per_s))
