"""What the routers need from the monitor, and the filters they share.

`MonitorServices` is all `create_router` reads from the object it is given:
any object with these attributes will do (the library's monitor, or an app's
own wiring, as in `app/api/main.py`)."""

from typing import Annotated, Protocol

import asyncpg
from fastapi import Query

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
