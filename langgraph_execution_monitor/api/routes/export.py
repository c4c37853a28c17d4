"""GET .../logs/export: the listing's rows for its filters, as CSV or JSON,
streamed a page at a time (export_executions_v2 reads after a (started_at, id)
cursor, so memory stays bounded whatever the size). The first page is read
before the response starts, so a bad parameter or a database fault is still
an ordinary 422 or 503."""

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

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
from langgraph_execution_monitor.api.schemas import ErrorDetail
from langgraph_execution_monitor.storage import queries

PAGE = 1000
# The listing's fields, in its order.
CSV_FIELDS = (
    "id",
    "conversation_id",
    "user_id",
    "status",
    "started_at",
    "completed_at",
    "total_duration_ms",
    "request_message",
    "response_message",
    "failed_nodes",
    "error_summary",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "llm_calls",
)
# A cell a spreadsheet would run as a formula starts with one of these: such
# text gets a leading apostrophe (OWASP's advice on CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}

Page = list[tuple[datetime, str, str]]


def csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(rows: Iterable[str], header: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_FIELDS)
    for text in rows:
        row = json.loads(text)
        writer.writerow([csv_cell(row.get(field)) for field in CSV_FIELDS])
    return out.getvalue()


def add_export_routes(router: APIRouter, monitor: MonitorServices) -> None:
    """Before the `/logs/{execution_id}` route, so that "export" is not an id."""

    @router.get(
        "/logs/export",
        summary="Export the listing (same filters) as CSV or JSON, streamed",
        tags=["monitoring"],
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {"text/csv": {}, "application/json": {}},
                "description": "The rows, newest first",
            },
            401: {"model": ErrorDetail},
            422: {"model": ErrorDetail},
        },
    )
    async def export_logs(
        format: Annotated[Literal["csv", "json"], Query(description="csv or json")] = "csv",
        status: StatusFilter = None,
        user_id: UserIdFilter = None,
        conversation_id: ConversationIdFilter = None,
        hours: WindowHours = None,
        q: SearchFilter = None,
        max_rows: Annotated[
            int, Query(ge=1, le=1_000_000, description="Stop after this many rows")
        ] = 100_000,
        since: SinceFilter = None,
        until: UntilFilter = None,
        user_id_prefix: UserIdPrefixFilter = None,
    ) -> StreamingResponse:
        filters = queries.ReadFilters(
            hours=hours,
            since=since,
            until=until,
            status=status,
            user_id=user_id,
            user_id_prefix=user_id_prefix,
            conversation_id=conversation_id,
            q=q,
        )

        async def page(before: tuple[datetime, str] | None, left: int) -> Page:
            return await queries.export_executions_v2(
                monitor.read_pool, filters=filters, before=before, limit=min(PAGE, left)
            )

        first = await page(None, max_rows)

        async def pages() -> AsyncIterator[Page]:
            current, left = first, max_rows
            while current:
                yield current
                left -= len(current)
                if left <= 0 or len(current) < PAGE:
                    return
                last = current[-1]
                current = await page((last[0], last[1]), left)

        async def as_csv() -> AsyncIterator[str]:
            header = True
            async for rows in pages():
                yield csv_lines((text for _, _, text in rows), header)
                header = False
            if header:
                yield csv_lines((), True)

        async def as_json() -> AsyncIterator[str]:
            yield "["
            sep = "\n"
            async for rows in pages():
                yield sep + ",\n".join(text for _, _, text in rows)
                sep = ",\n"
            yield "\n]\n"

        return StreamingResponse(
            as_csv() if format == "csv" else as_json(),
            media_type=MEDIA[format],
            headers={
                "Content-Disposition": f'attachment; filename="executions.{format}"',
                "Cache-Control": "no-store",
            },
        )
