"""One chat turn: run the demo agent under the monitor and answer in every
case (the log records the error; the user gets an apology)."""

import logging

from langgraph.pregel import Pregel

from app.agents.conversational_graph import initial_state, response_of
from app.api.schemas import ChatResponse
from langgraph_execution_monitor.capture import new_execution_id
from langgraph_execution_monitor.serialize import response_text

logger = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong while answering. The error has been logged."


async def run_chat_turn(
    graph: Pregel, message: str, user_id: str, conversation_id: str | None
) -> ChatResponse:
    execution_id = new_execution_id()
    conversation_id = conversation_id or new_execution_id()
    outcome = await graph.arun(
        initial_state(message, user_id, conversation_id),
        user_id=user_id,
        conversation_id=conversation_id,
        request_message=message,
        execution_id=execution_id,
    )
    finished = outcome.finished
    if finished is not None:
        status, failed_nodes, error_summary = (
            finished.status,
            finished.failed_nodes,
            finished.error_summary,
        )
        response = response_text(finished.response_message)
    else:  # the monitor itself failed: answer from what the graph did
        status = "failed" if outcome.error else "completed"
        failed_nodes, error_summary = [], str(outcome.error) if outcome.error else None
        response = response_of(outcome.result) if outcome.error is None else None
    if outcome.error is not None:
        logger.warning("chat run %s failed: %r", execution_id, outcome.error)
    return ChatResponse(
        execution_id=execution_id,
        conversation_id=conversation_id,
        status=status,
        response=response if status != "failed" and response else APOLOGY,
        failed_nodes=failed_nodes,
        error_summary=error_summary,
    )
