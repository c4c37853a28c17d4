"""GET .../logs, .../stats, ...: each endpoint is one call of its SQL
function, whose JSON goes to the client as is."""

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response

from langgraph_execution_monitor import limits
from langgraph_execution_monitor.api.deps import (
    ConversationIdFilter,
    MonitorServices,
    SearchFilter,
    SinceFilter,
    StatusFilter,
    UntilFilter,
    UserIdFilter,
    UserIdPrefixFilter,
    WindowHours,
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
    UserSuggestions,
)
from langgraph_execution_monitor.storage import queries

PAGE_MAX = limits.PAGE_LIMIT_MAX
HOURS_MAX = limits.HOURS_MAX
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description=f"Rows per page (max {PAGE_MAX})")]
Offset = Annotated[int, Query(ge=0, le=2_000_000_000, description="Rows to skip")]
ListingOffset = Annotated[
    int,
    Query(
        ge=0,
        le=limits.OFFSET_MAX,
        description=f"Rows to skip (max {limits.OFFSET_MAX:,}); page further with `before`",
    ),
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
        hours: WindowHours = None,
        q: SearchFilter = None,
        since: SinceFilter = None,
        until: UntilFilter = None,
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

    def read_filters(
        hours: WindowHours = None,
        since: SinceFilter = None,
        until: UntilFilter = None,
        status: StatusFilter = None,
        user_id: UserIdFilter = None,
        user_id_prefix: UserIdPrefixFilter = None,
        conversation_id: ConversationIdFilter = None,
        q: SearchFilter = None,
    ) -> queries.ReadFilters:
        """The listing's filters, for the stats and the node table to follow."""
        return queries.ReadFilters(
            hours=hours,
            since=since,
            until=until,
            status=status,
            user_id=user_id,
            user_id_prefix=user_id_prefix,
            conversation_id=conversation_id,
            q=q,
        )

    Filters = Annotated[queries.ReadFilters, Depends(read_filters)]

    def seed_hours(filters: queries.ReadFilters) -> int | None:
        """`hours` alone (or nothing): the seed's read, as it always answered."""
        if replace(filters, hours=None) == queries.ReadFilters():
            return filters.hours or limits.HOURS_DEFAULT
        return None

    @router.get(
        "/stats",
        response_model=ExecutionStats,
        summary="Statistics for a time window (and, optionally, the listing's filters)",
        **common,
    )
    async def stats(filters: Filters) -> Response:
        hours = seed_hours(filters)
        if hours is not None:
            return json_response(await queries.execution_stats(monitor.read_pool, hours))
        return json_response(await queries.execution_stats_filtered(monitor.read_pool, filters))

    @router.get(
        "/nodes",
        response_model=NodePerformanceReport,
        summary="Per-node performance from the traces (optionally, the listing's filters)",
        **common,
    )
    async def node_performance(filters: Filters) -> Response:
        hours = seed_hours(filters)
        if hours is not None:
            return json_response(await queries.node_performance(monitor.read_pool, hours))
        return json_response(await queries.node_performance_filtered(monitor.read_pool, filters))

    @router.get(
        "/users",
        response_model=UserSuggestions,
        summary="Distinct user ids starting with a prefix (the user filter's suggestions)",
        **common,
    )
    async def user_suggestions(
        prefix: Annotated[
            str,
            Query(
                max_length=limits.ID_MAX_CHARS,
                pattern=NO_NUL,
                description="The ids' start (empty: the first ids)",
            ),
        ] = "",
        limit: Annotated[
            int, Query(ge=1, le=limits.USER_SUGGESTIONS_MAX, description="At most this many")
        ] = 20,
    ) -> Response:
        return json_response(await queries.user_id_suggestions(monitor.read_pool, prefix, limit))

    @router.get(
        "/errors",
        response_model=ErrorGroups,
        summary="Failures grouped by node, exception type and normalised message",
        **common,
    )
    async def error_groups(
        hours: WindowHours = None, since: SinceFilter = None, until: UntilFilter = None
    ) -> Response:
        if since is None and until is None:
            return json_response(
                await queries.error_groups(monitor.read_pool, hours or limits.HOURS_DEFAULT)
            )
        window = queries.ReadFilters(hours=hours, since=since, until=until)
        return json_response(await queries.error_groups_window(monitor.read_pool, window))

    @router.get(
        "/threads",
        response_model=ThreadPage,
        summary="Conversations: turns, failures, last activity, durations, tokens",
        **common,
    )
    async def threads(
        hours: WindowHours = None,
        user_id: UserIdFilter = None,
        limit: Limit = 50,
        offset: Offset = 0,
        since: SinceFilter = None,
        until: UntilFilter = None,
        user_id_prefix: UserIdPrefixFilter = None,
    ) -> Response:
        if since is None and until is None and user_id_prefix is None:
            return json_response(
                await queries.list_threads(
                    monitor.read_pool,
                    hours=hours or limits.HOURS_DEFAULT,
                    user_id=user_id,
                    limit=limit,
                    offset=offset,
                )
            )
        filters = queries.ReadFilters(
            hours=hours, since=since, until=until, user_id=user_id, user_id_prefix=user_id_prefix
        )
        return json_response(
            await queries.list_threads_v2(monitor.read_pool, filters, limit=limit, offset=offset)
        )
