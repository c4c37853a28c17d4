"""GET .../logs, .../stats, ...: each endpoint is one call of its SQL
function, whose JSON goes to the client as is."""

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import Response
from pydantic import AfterValidator, BeforeValidator

from langgraph_execution_monitor import limits
from langgraph_execution_monitor.api.deps import (
    ConversationIdFilter,
    MonitorServices,
    StatusFilter,
    UserIdFilter,
    UserIdPrefixFilter,
)
from langgraph_execution_monitor.api.schemas import (
    NO_NUL,
    ConversationExecutions,
    ErrorDetail,
    ErrorGroups,
    ExecutionDetail,
    ExecutionStats,
    ListingPage,
    NodePerformanceReport,
    ThreadPage,
)
from langgraph_execution_monitor.storage import queries

PAGE_MAX = limits.PAGE_LIMIT_MAX
HOURS_MAX = limits.HOURS_MAX
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description=f"Rows per page (max {PAGE_MAX})")]
Offset = Annotated[int, Query(ge=0, le=2_000_000_000, description="Rows to skip")]
Hours = Annotated[
    int, Query(ge=1, le=HOURS_MAX, description=f"Time window in hours (max {HOURS_MAX})")
]
ListingOffset = Annotated[
    int,
    Query(
        ge=0,
        le=limits.OFFSET_MAX,
        description=f"Rows to skip (max {limits.OFFSET_MAX:,}); page further with `before`",
    ),
]
ListingHours = Annotated[
    int | None,
    Query(
        ge=1,
        le=HOURS_MAX,
        description=f"The last N hours (max {HOURS_MAX}); {limits.HOURS_DEFAULT} when "
        "neither `since` nor `until` is given; not combined with them",
    ),
]


ISO_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


def iso_only(value: object) -> object:
    """ISO-8601 date and time only (pydantic alone would take `0.5` as epoch seconds)."""
    if isinstance(value, str) and not ISO_DATE_TIME.match(value):
        raise ValueError("must be an ISO-8601 date and time, e.g. 2026-11-20T00:00:00Z")
    return value


def in_utc(value: datetime) -> datetime:
    """A window bound as an aware UTC datetime (naive input is taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None


WindowBound = Annotated[
    datetime | None, BeforeValidator(iso_only), AfterValidator(lambda v: v and in_utc(v))
]


def json_response(body: str) -> Response:
    return Response(content=body, media_type="application/json")


def add_monitoring_routes(router: APIRouter, monitor: MonitorServices) -> None:
    """The seed's read endpoints, on `router`, reading through `monitor.read_pool`."""
    common = {
        "tags": ["monitoring"],
        "responses": {401: {"model": ErrorDetail}, 422: {"model": ErrorDetail}},
    }

    @router.get("/logs", response_model=ListingPage, summary="List executions", **common)
    async def list_logs(
        limit: Limit = 50,
        offset: ListingOffset = 0,
        status: StatusFilter = None,
        user_id: UserIdFilter = None,
        conversation_id: ConversationIdFilter = None,
        hours: ListingHours = None,
        q: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=limits.SEARCH_MAX_CHARS,
                pattern=NO_NUL,
                description="Text in the request, response, error summary, failed nodes' "
                f"names or the ids (within the first {limits.SEARCH_PREFIX_CHARS:,} "
                "characters of each)",
            ),
        ] = None,
        since: Annotated[
            WindowBound,
            Query(description="Runs started at or after this time (ISO-8601; no zone: UTC)"),
        ] = None,
        until: Annotated[
            WindowBound,
            Query(description="Runs started before this time (ISO-8601; no zone: UTC)"),
        ] = None,
        before: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=2048,
                pattern=r"^[A-Za-z0-9_-]+$",
                description="A `next_cursor` from a previous page: the runs after it",
            ),
        ] = None,
        user_id_prefix: UserIdPrefixFilter = None,
    ) -> Response:
        return json_response(
            await queries.list_executions_v2(
                monitor.read_pool,
                status=status,
                user_id=user_id,
                conversation_id=conversation_id,
                hours=hours,
                limit=limit,
                offset=offset,
                q=q,
                since=since,
                until=until,
                before=before,
                user_id_prefix=user_id_prefix,
            )
        )

    @router.get(
        "/logs/{execution_id}",
        response_model=ExecutionDetail,
        summary="One execution with its trace (for the tree)",
        tags=["monitoring"],
        responses={
            401: {"model": ErrorDetail},
            404: {"model": ErrorDetail},
            422: {"model": ErrorDetail},
        },
    )
    async def get_log(
        execution_id: Annotated[str, Path(max_length=limits.ID_MAX_CHARS, pattern=NO_NUL)],
    ) -> Response:
        body = await queries.get_execution(monitor.read_pool, execution_id)
        if body is None:
            raise HTTPException(404, f"no execution with id {execution_id!r}")
        return json_response(body)

    @router.get(
        "/conversations/{conversation_id}/logs",
        response_model=ConversationExecutions,
        summary="A conversation's executions, oldest first",
        **common,
    )
    async def conversation_logs(
        conversation_id: Annotated[str, Path(max_length=limits.ID_MAX_CHARS, pattern=NO_NUL)],
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 20,
        offset: Offset = 0,
    ) -> Response:
        return json_response(
            await queries.list_conversation_executions(
                monitor.read_pool, conversation_id, limit=limit, offset=offset
            )
        )

    @router.get(
        "/stats", response_model=ExecutionStats, summary="Statistics for a time window", **common
    )
    async def stats(hours: Hours = 24) -> Response:
        return json_response(await queries.execution_stats(monitor.read_pool, hours))

    @router.get(
        "/nodes",
        response_model=NodePerformanceReport,
        summary="Per-node performance from the traces",
        **common,
    )
    async def node_performance(hours: Hours = 24) -> Response:
        return json_response(await queries.node_performance(monitor.read_pool, hours))

    @router.get(
        "/errors",
        response_model=ErrorGroups,
        summary="Failures grouped by node, exception type and normalised message",
        **common,
    )
    async def error_groups(hours: Hours = 24) -> Response:
        return json_response(await queries.error_groups(monitor.read_pool, hours))

    @router.get(
        "/threads",
        response_model=ThreadPage,
        summary="Conversations: turns, failures, last activity, durations, tokens",
        **common,
    )
    async def threads(
        hours: Hours = 24,
        user_id: UserIdFilter = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Response:
        return json_response(
            await queries.list_threads(
                monitor.read_pool, hours=hours, user_id=user_id, limit=limit, offset=offset
            )
        )
