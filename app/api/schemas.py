"""The chat endpoint's request and response models (the demo app's own API)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=32_000)
    user_id: str = Field(min_length=1, max_length=255)
    conversation_id: str | None = Field(default=None, min_length=1, max_length=36)


class ChatResponse(BaseModel):
    execution_id: str
    conversation_id: str
    status: Literal["completed", "partial", "failed"]
    response: str
    failed_nodes: list[str]
    error_summary: str | None
