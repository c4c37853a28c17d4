"""The named queries of `queries.sql`, loaded once, each behind a typed method.

JSON results come back from PostgreSQL as text and are passed on as they are:
the API sends them to clients without parsing them again.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg

QUERIES_FILE = Path(__file__).with_name("queries.sql")

Executor = asyncpg.Pool | asyncpg.Connection


def load_queries(path: Path = QUERIES_FILE) -> dict[str, str]:
    """Parse `-- name: x` sections into {name: sql}."""
    queries: dict[str, str] = {}
    for block in re.split(r"^-- name: ", path.read_text(), flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        sql = "\n".join(line for line in body.splitlines() if not line.startswith("--"))
        queries[name.strip()] = sql.strip()
    return queries


SQL = load_queries()


async def log_batch(db: Executor, columns: Sequence[Sequence[Any]]) -> int:
    """`columns`: the 11 parallel arrays of log_batch (the first release's writer)."""
    return await db.fetchval(SQL["log_batch"], *columns)


async def log_batch_v2(db: Executor, columns: Sequence[Sequence[Any]]) -> int:
    """`columns`: the 16 parallel arrays of log_batch_v2, in its parameter order."""
    return await db.fetchval(SQL["log_batch_v2"], *columns)


async def log_batch_v3(db: Executor, columns: Sequence[Sequence[Any]]) -> tuple[int, int]:
    """`columns`: the 16 parallel arrays of log_batch_v3 (as v2's). Returns the rows
    written and, of those, the stale closes a real finish replaced."""
    row = await db.fetchrow(SQL["log_batch_v3"], *columns)
    return row[0], row[1]


async def log_batch_v4(db: Executor, events: str) -> tuple[int, int]:
    """`events`: a JSON array of events, each an array of log_batch_v3's 16 values in
    its parameter order (`rows.rows_to_json`). Returns as `log_batch_v3`."""
    row = await db.fetchrow(SQL["log_batch_v4"], events)
    return row[0], row[1]


async def log_batch_v5(db: Executor, events: str) -> tuple[int, int]:
    """As `log_batch_v4`, without the global lock (log_batch_v5)."""
    row = await db.fetchrow(SQL["log_batch_v5"], events)
    return row[0], row[1]


async def heartbeat_executions(db: Executor, ids: Sequence[str]) -> int:
    return await db.fetchval(SQL["heartbeat_executions"], list(ids))


async def list_executions(
    db: Executor,
    *,
    status: str | None,
    user_id: str | None,
    conversation_id: str | None,
    hours: int,
    limit: int,
    offset: int,
    q: str | None,
) -> str:
    return await db.fetchval(
        SQL["list_executions"], status, user_id, conversation_id, hours, limit, offset, q
    )


async def list_executions_v2(
    db: Executor,
    *,
    status: str | None = None,
    user_id: str | None = None,
    conversation_id: str | None = None,
    hours: int | None = None,
    limit: int = 50,
    offset: int = 0,
    q: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: str | None = None,
    user_id_prefix: str | None = None,
) -> str:
    """`hours` None: the SQL default (24 h) unless `since` or `until` is given."""
    return await db.fetchval(
        SQL["list_executions_v2"],
        status,
        user_id,
        conversation_id,
        hours,
        limit,
        offset,
        q,
        since,
        until,
        before,
        user_id_prefix,
    )


async def monitoring_limits(db: Executor) -> str:
    return await db.fetchval(SQL["monitoring_limits"])


async def get_execution(db: Executor, execution_id: str) -> str | None:
    return await db.fetchval(SQL["get_execution"], execution_id)


async def list_conversation_executions(
    db: Executor, conversation_id: str, *, limit: int, offset: int
) -> str:
    return await db.fetchval(SQL["list_conversation_executions"], conversation_id, limit, offset)


async def execution_stats(db: Executor, hours: int) -> str:
    return await db.fetchval(SQL["execution_stats"], hours)


async def node_performance(db: Executor, hours: int) -> str:
    return await db.fetchval(SQL["node_performance"], hours)


@dataclass(frozen=True)
class ReadFilters:
    """The listing's filters as the filtered reads take them (None: not filtered).
    `hours` None and no `since` / `until`: the SQL default window (24 h)."""

    hours: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None
    user_id: str | None = None
    user_id_prefix: str | None = None
    conversation_id: str | None = None
    q: str | None = None

    def args(self) -> tuple[Any, ...]:
        """In the order of execution_stats_filtered's parameters."""
        return (
            self.hours,
            self.since,
            self.until,
            self.status,
            self.user_id,
            self.user_id_prefix,
            self.conversation_id,
            self.q,
        )


async def execution_stats_filtered(db: Executor, filters: ReadFilters) -> str:
    return await db.fetchval(SQL["execution_stats_filtered"], *filters.args())


async def node_performance_filtered(db: Executor, filters: ReadFilters) -> str:
    return await db.fetchval(SQL["node_performance_filtered"], *filters.args())


async def user_id_suggestions(db: Executor, prefix: str, limit: int) -> str:
    return await db.fetchval(SQL["user_id_suggestions"], prefix, limit)


async def error_groups(db: Executor, hours: int) -> str:
    return await db.fetchval(SQL["error_groups"], hours)


async def list_threads(
    db: Executor, *, hours: int, user_id: str | None, limit: int, offset: int
) -> str:
    return await db.fetchval(SQL["list_threads"], hours, user_id, limit, offset)


async def error_groups_window(db: Executor, filters: ReadFilters) -> str:
    """Only the window of `filters` applies."""
    return await db.fetchval(
        SQL["error_groups_window"], filters.hours, filters.since, filters.until
    )


async def list_threads_v2(db: Executor, filters: ReadFilters, *, limit: int, offset: int) -> str:
    """The window and the user (or prefix) of `filters` apply."""
    return await db.fetchval(
        SQL["list_threads_v2"],
        filters.hours,
        filters.since,
        filters.until,
        filters.user_id,
        filters.user_id_prefix,
        limit,
        offset,
    )


async def export_executions_v2(
    db: Executor,
    *,
    filters: ReadFilters,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[tuple[datetime, str, str]]:
    """A page of listing rows as (started_at, id, JSON text), newest first."""
    before_at, before_id = before if before else (None, None)
    rows = await db.fetch(
        SQL["export_executions_v2"],
        filters.status,
        filters.user_id,
        filters.conversation_id,
        filters.hours,
        filters.q,
        before_at,
        before_id,
        limit,
        filters.since,
        filters.until,
        filters.user_id_prefix,
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def executions_by_ids(db: Executor, ids: Sequence[str]) -> list[tuple[int, str]]:
    rows = await db.fetch(SQL["executions_by_ids"], list(ids))
    return [(row[0], row[1]) for row in rows]


async def latest_change_seq(db: Executor) -> int:
    return await db.fetchval(SQL["latest_change_seq"])


class ChangePosition(NamedTuple):
    """A place in the change order: the writing transaction's id, then change_seq.
    Tuples compare in that order, as the SQL reads them."""

    xid: int
    seq: int


async def executions_changed_since_v2(
    db: Executor,
    after: ChangePosition,
    *,
    status: str | None = None,
    user_id: str | None = None,
    conversation_id: str | None = None,
    limit: int = 1000,
) -> list[tuple[ChangePosition, str]]:
    """Changes after `after` that no transaction can still precede, in change order."""
    rows = await db.fetch(
        SQL["executions_changed_since_v2"],
        after.xid,
        after.seq,
        status,
        user_id,
        conversation_id,
        limit,
    )
    return [(ChangePosition(row[0], row[1]), row[2]) for row in rows]


async def latest_change_position(db: Executor) -> tuple[ChangePosition, ChangePosition]:
    """The newest change readers may deliver, and the newest change written."""
    row = await db.fetchrow(SQL["latest_change_position"])
    return ChangePosition(row[0], row[1]), ChangePosition(row[2], row[3])


async def close_stale_executions(db: Executor, older_than_s: float) -> int:
    return await db.fetchval(SQL["close_stale_executions"], older_than_s)


async def compact_rollups(db: Executor) -> int:
    return await db.fetchval(SQL["compact_rollups"])


async def maintain_execution_logs(
    db: Executor, retention_days: int, rollup_retention_days: int
) -> dict[str, Any]:
    return json.loads(
        await db.fetchval(SQL["maintain_execution_logs"], retention_days, rollup_retention_days)
    )


async def ping(db: Executor) -> bool:
    return await db.fetchval(SQL["ping"]) == 1


async def prefer_lz4_compression(db: asyncpg.Connection) -> None:
    await db.execute(SQL["prefer_lz4_compression"])
