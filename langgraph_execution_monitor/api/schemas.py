"""Response and request models: they document every field in /openapi.json.

Monitoring endpoints send the JSON their SQL function built, as is; these
models describe it (and schemathesis checks that they do)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["running", "completed", "failed", "partial", "interrupted"]

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
    input_tokens: int | None = Field(default=None, description="Summed over the run's LLM calls")
    output_tokens: int | None = None
    total_tokens: int | None = None
    llm_calls: int | None = Field(default=None, description="Chat-model calls in the run")


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
    type: str | None = Field(default=None, description="node, task (functional API) or tool")
    task_id: str | None = Field(default=None, description="LangGraph's task id")
    branch: int | str | None = Field(
        default=None, description="Send index of a fanned-out task; a tool call's id"
    )
    output: object | None = Field(
        default=None, description="What it returned (JSON, capped; see `truncated`)"
    )
    error_type: str | None = Field(default=None, description="Exception class of a failure")
    traceback: str | None = Field(default=None, description="The last frames of a failure")
    llm_calls: list[dict[str, object]] | None = Field(
        default=None, description="model, input/output/total tokens, duration of each call"
    )
    tokens: dict[str, int] | None = Field(default=None, description="input, output, total")
    cached: bool | None = Field(default=None, description="A CachePolicy hit: it did not run")


class ExecutionDetail(ExecutionSummary):
    execution_trace: list[TraceEntry]
    input: object | None = Field(default=None, description="The run's input (JSON, capped)")


class ExecutionPage(BaseModel):
    total: int = Field(description="Executions matching the filter, all pages")
    offset: int
    limit: int
    logs: list[ExecutionSummary]


class ListingPage(ExecutionPage):
    """GET /logs: the seed's page, with a cursor to the next page and a capped total."""

    total: int = Field(
        description="Executions matching the filters and window (ignoring `before` and "
        "`offset`); exact up to the cap, else the cap (see `total_capped`)"
    )
    total_capped: bool = Field(
        description="True when more executions match than were counted: `total` is a floor"
    )
    next_cursor: str | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page"
    )


class ConversationExecutions(ExecutionPage):
    conversation_id: str


class StatusCounts(BaseModel):
    completed: int
    failed: int
    partial: int
    running: int
    interrupted: int = 0


class ExecutionStats(BaseModel):
    time_range_hours: int
    since: str | None = Field(
        None, description="With filters: the window's start (null: from the first run)"
    )
    until: str | None = Field(None, description="With filters: the window's end (null: now)")
    total_executions: int
    by_status: StatusCounts
    success_rate: float = Field(description="completed / all, in percent, 2 decimals")
    avg_duration_ms: int | None
    p95_duration_ms: int | None
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
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
    since: str | None = Field(
        None, description="With filters: the window's start (null: from the first run)"
    )
    until: str | None = Field(None, description="With filters: the window's end (null: now)")
    nodes: list[NodePerformance]


class UserSuggestions(BaseModel):
    prefix: str
    users: list[str] = Field(description="Distinct user ids starting with `prefix`, in byte order")


class ErrorGroup(BaseModel):
    fingerprint: str = Field(description="Hash of node, error type and message pattern")
    node: str | None = Field(description="The failing node (None: the run failed outside nodes)")
    error_type: str | None
    pattern: str = Field(description="The message with quoted values, ids and numbers replaced")
    last_message: str = Field(description="The newest failure's message as it was")
    failures: int = Field(description="Failed node runs (retries included)")
    runs: int = Field(description="Runs with this failure")
    users: int
    affected_users: list[str] = Field(description="Up to 10 of them")
    first_seen: str
    last_seen: str
    hourly: list[int] = Field(description="Failures per hour of the window, oldest first")
    recent_execution_ids: list[str] = Field(description="The newest runs with it (up to 20)")


class ErrorGroups(BaseModel):
    time_range_hours: int
    since: str | None = Field(
        None, description="With a since / until window: its start (null: from the first run)"
    )
    until: str | None = Field(None, description="With a since / until window: its end (null: now)")
    bucket_hours: float | None = Field(
        None,
        description="With a since / until window: the hours each `hourly` count covers "
        "(1 up to 168 buckets, wider past that)",
    )
    groups: list[ErrorGroup]


class ThreadSummary(BaseModel):
    conversation_id: str
    user_id: str = Field(description="The user of its latest turn")
    turns: int
    failed_turns: int
    partial_turns: int
    running_turns: int
    first_started_at: str
    last_activity: str
    p50_duration_ms: int | None
    p99_duration_ms: int | None
    input_tokens: int
    output_tokens: int
    total_tokens: int
    last_status: str
    last_request: str = Field(description="The latest turn's request (first 200 characters)")


class ThreadPage(BaseModel):
    time_range_hours: int
    since: str | None = Field(
        None, description="With a since / until window: its start (null: from the first run)"
    )
    until: str | None = Field(None, description="With a since / until window: its end (null: now)")
    total: int
    offset: int
    limit: int
    threads: list[ThreadSummary]


class ErrorDetail(BaseModel):
    detail: str | list[dict[str, object]]
