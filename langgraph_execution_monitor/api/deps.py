"""What the routers need from the monitor, and the filters they share.

`MonitorServices` is all `create_router` reads from the object it is given:
any object with these attributes will do (the library's monitor, or an app's
own wiring, as in `app/api/main.py`). One more is optional: `read_replica_url`
(not None when `read_pool` is on a read replica: /health then asks the primary
through the broadcaster's pool as well)."""

import re
from datetime import UTC, datetime
from typing import Annotated, Protocol

import asyncpg
from fastapi import Query
from pydantic import AfterValidator, BeforeValidator

from langgraph_execution_monitor import limits
from langgraph_execution_monitor.api.schemas import NO_NUL, Status
from langgraph_execution_monitor.limits import ID_MAX_CHARS
from langgraph_execution_monitor.live_events import ExecutionBroadcaster
from langgraph_execution_monitor.writer import WriterStats


class WriterView(Protocol):
    """The writer's state, for /health and /metrics (a `LogWriter` is one)."""

    @property
    def stats(self) -> WriterStats: ...
    @property
    def running(self) -> bool: ...
    @property
    def queue_depth(self) -> int: ...
    @property
    def waiting(self) -> int: ...
    @property
    def buffered_bytes(self) -> int: ...


class MonitorServices(Protocol):
    @property
    def read_pool(self) -> asyncpg.Pool:
        """The pool API reads use. Give it a `statement_timeout` (server
        setting) so a read stuck behind a lock answers 503 in seconds."""
        ...

    @property
    def broadcaster(self) -> ExecutionBroadcaster:
        """The live fan-out (its own LISTEN connection and pool)."""
        ...

    @property
    def writer(self) -> WriterView | None:
        """The writer whose state /health and /metrics report, if any."""
        ...

    @property
    def api_token(self) -> str | None:
        """Monitoring data needs `Authorization: Bearer <this>`; None: open.
        Blank is refused (every request is 401), never taken as "open"."""
        ...


# Filters shared by the listing and the stream (one definition, one documentation).
StatusFilter = Annotated[Status | None, Query(description="Only this status")]
UserIdFilter = Annotated[str | None, Query(min_length=1, max_length=ID_MAX_CHARS, pattern=NO_NUL)]
ConversationIdFilter = Annotated[
    str | None, Query(min_length=1, max_length=ID_MAX_CHARS, pattern=NO_NUL)
]
UserIdPrefixFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=ID_MAX_CHARS,
        pattern=NO_NUL,
        description="Only users whose id starts with this",
    ),
]

SearchFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=limits.SEARCH_MAX_CHARS,
        pattern=NO_NUL,
        description="Text in the request, response, error summary, failed nodes' "
        f"names or the ids (within the first {limits.SEARCH_PREFIX_CHARS:,} "
        "characters of each)",
    ),
]
WindowHours = Annotated[
    int | None,
    Query(
        ge=1,
        le=limits.HOURS_MAX,
        description=f"The last N hours (max {limits.HOURS_MAX}); {limits.HOURS_DEFAULT} when "
        "neither `since` nor `until` is given; not combined with them",
    ),
]

ISO_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


def iso_only(value: object) -> object:
    """ISO-8601 date and time only (pydantic alone would take `0.5` as epoch seconds)."""
    if isinstance(value, str) and not ISO_DATE_TIME.match(value):
        raise ValueError("must be an ISO-8601 date and time, e.g. 2026-11-20T00:00:00Z")
    return value


# asyncpg sends the first and the last instant a datetime can hold as -infinity
# and infinity, which the window's arithmetic (bucket widths, time_range_hours)
# cannot take: a bound must lie strictly between them.
FIRST_INSTANT = datetime.min.replace(tzinfo=UTC)
LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


def in_utc(value: datetime) -> datetime:
    """A window bound as an aware UTC datetime (naive input is taken as UTC)."""
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None
    if not FIRST_INSTANT < utc < LAST_INSTANT:
        raise ValueError(
            f"out of range: must be after {FIRST_INSTANT.isoformat()} and before "
            f"{LAST_INSTANT.isoformat()}"
        )
    return utc


WindowBound = Annotated[
    datetime | None, BeforeValidator(iso_only), AfterValidator(lambda v: v and in_utc(v))
]
SinceFilter = Annotated[
    WindowBound,
    Query(description="Runs started at or after this time (ISO-8601; no zone: UTC)"),
]
UntilFilter = Annotated[
    WindowBound,
    Query(description="Runs started before this time (ISO-8601; no zone: UTC)"),
]
