"""POST /api/v1/chat/v2: one turn of the demo agent, monitored."""

from fastapi import APIRouter, Request

from app.api.schemas import ChatRequest, ChatResponse
from app.services.chat import run_chat_turn
from langgraph_execution_monitor.api.schemas import ErrorDetail

router = APIRouter(prefix="/api/v1/chat", tags=["chat"])


@router.post(
    "/v2",
    response_model=ChatResponse,
    summary="Run the demo agent on a message",
    responses={
        400: {"model": ErrorDetail, "description": "The body is not UTF-8 text"},
        413: {"model": ErrorDetail},
        422: {"model": ErrorDetail},
    },
)
async def chat(body: ChatRequest, request: Request) -> ChatResponse:
    return await run_chat_turn(
        request.app.state.graph, body.message, body.user_id, body.conversation_id
    )
