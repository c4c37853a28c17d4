"""Response and request models: they document every field in /openapi.json.

Monitoring endpoints send the JSON their SQL function built, as is; these
models describe it (and schemathesis checks that they do)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["running", "completed", "failed", "partial"]

# PostgreSQL text cannot hold a NUL character: text parameters say so in the
# schema, so such a value gets a 422 before it reaches the database.
NO_NUL = r"^[^\x00]*$"


class ExecutionSummary(BaseModel):
    id: str = Field(description="Execution id (one LangGraph run)")
    conversation_id: str | None
    user_id: str
    request_message: str
    response_message: str | None
    status: Status
    started_at: str = Field(description="ISO-8601, UTC")
    completed_at: str | None = Field(description="ISO-8601, UTC; null while running")
    total_duration_ms: int | None
    failed_nodes: list[str] = Field(description="Failed nodes, in order of failure")
    error_summary: str | None = Field(description="The first (root) error message")


class TraceEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    node: str
    status: Literal["completed", "failed", "cancelled", "interrupted"] | str
    execution_time_ms: float | None = None
    error: str | None = Field(default=None, description="Present when the node failed")
    timestamp: str | None = Field(default=None, description="When the node ended (ISO-8601)")
    started_at: str | None = Field(default=None, description="When the node started")
    step: int | None = Field(default=None, description="LangGraph superstep")
    parent: str | None = Field(default=None, description="Enclosing node of a subgraph node")
    attempt: int | None = Field(default=None, description="1-based; >1 for retries")


class ExecutionDetail(ExecutionSummary):
    execution_trace: list[TraceEntry]


class ExecutionPage(BaseModel):
    total: int = Field(description="Executions matching the filter, all pages")
    offset: int
    limit: int
    logs: list[ExecutionSummary]


class ConversationExecutions(ExecutionPage):
    conversation_id: str


class StatusCounts(BaseModel):
    completed: int
    failed: int
    partial: int
    running: int


class ExecutionStats(BaseModel):
    time_range_hours: int
    total_executions: int
    by_status: StatusCounts
    success_rate: float = Field(description="completed / all, in percent, 2 decimals")
    avg_duration_ms: int | None
    p95_duration_ms: int | None
    failed_nodes_breakdown: dict[str, int] = Field(
        description="Node -> number of runs it failed in (once per run)"
    )


class NodePerformance(BaseModel):
    node: str
    runs: int
    failures: int
    failure_rate: float
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class NodePerformanceReport(BaseModel):
    time_range_hours: int
    nodes: list[NodePerformance]


class ErrorDetail(BaseModel):
    detail: str | list[dict[str, object]]
