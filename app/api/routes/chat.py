"""POST /api/v1/chat/v2: one turn of the demo agent, monitored."""

from fastapi import APIRouter, Request

from app.api.schemas import ChatRequest, ChatResponse
from app.services.chat import run_chat_turn
from langgraph_execution_monitor.api.errors import StrictJSONRoute
from langgraph_execution_monitor.api.schemas import ErrorDetail

# Strict JSON (no NaN, Infinity, 1e400 or lone surrogates: 422), and 422
# answers that always encode.
router = APIRouter(prefix="/api/v1/chat", tags=["chat"], route_class=StrictJSONRoute)


@router.post(
    "/v2",
    response_model=ChatResponse,
    summary="Run the demo agent on a message",
    responses={
        401: {"model": ErrorDetail, "description": "With a token configured, without it"},
        413: {"model": ErrorDetail},
        422: {
            "model": ErrorDetail,
            "description": "Invalid fields, or a body that is not strict JSON in UTF-8",
        },
    },
)
async def chat(body: ChatRequest, request: Request) -> ChatResponse:
    return await run_chat_turn(
        request.app.state.graph, body.message, body.user_id, body.conversation_id
    )
