"""What the writer does when a batch write fails, decided in one place.

Three kinds, by what would make the same write succeed:

- `DATA`: the values of this batch cannot be stored (SQLSTATE classes 22, 23,
  54, and asyncpg's own client-side `DataError` when it cannot encode an
  argument: it is about a value too). Retrying the same rows fails forever;
  the batch is split until the bad event is alone, and that event is counted.
- `TRANSIENT`: the server is down, restarting, out of resources, or the
  transaction lost a race (08 connection, 53 resources, 57 operator
  intervention, 40 serialization failure / deadlock, 55P03 lock not
  available; connection errors raised by the client itself). Waiting is
  enough: retried with capped, jittered backoff.
- `PERMANENT`: nothing changes until an operator does something (42 undefined
  function or table, missing privilege; 28 authentication; 3F / 3D schema or
  database missing; any SQLSTATE not listed above). Retrying quickly only
  floods the server and the logs: the events wait in the bounded buffer, the
  writer shows as blocked in `/health/ready` and `/metrics`, and the write is
  tried again at a slow interval.

Anything that is neither a `PostgresError` nor a connection-level client error
is a bug in the writer: it is not classified here (the writer's supervisor
counts it and restarts the loop).
"""

import enum

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base


class WriteErrorKind(enum.Enum):
    DATA = "data"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


DATA_SQLSTATE_CLASSES = ("22", "23", "54")
TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "40")
TRANSIENT_SQLSTATES = ("55P03",)

# Errors the client raises about its connection (refused, reset, closed under
# it, a protocol state left broken by a kill, a statement cache made stale by a
# migration): fresh connections fix them.
CONNECTION_ERRORS = (OSError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def classify(error: BaseException) -> WriteErrorKind | None:
    """The kind of a failed write, or None for an error that is a bug."""
    if isinstance(error, asyncpg_base.DataError):  # before InterfaceError: a subclass
        return WriteErrorKind.DATA
    if isinstance(error, asyncpg.PostgresError):
        sqlstate = getattr(error, "sqlstate", None) or ""
        if sqlstate[:2] in DATA_SQLSTATE_CLASSES:
            return WriteErrorKind.DATA
        if sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES or sqlstate in TRANSIENT_SQLSTATES:
            return WriteErrorKind.TRANSIENT
        return WriteErrorKind.PERMANENT
    if isinstance(error, CONNECTION_ERRORS):
        return WriteErrorKind.TRANSIENT
    return None


def needs_new_connections(error: BaseException) -> bool:
    """A transient error after which the writer's connections are not worth
    keeping (the connection is gone or in an unknown state), as opposed to a
    lost race or a busy server, where the connection is fine."""
    if isinstance(error, asyncpg.PostgresError):
        sqlstate = getattr(error, "sqlstate", None) or ""
        return sqlstate[:2] == "08" or sqlstate in ("57P01", "57P02", "57P03")
    return isinstance(error, CONNECTION_ERRORS) and not isinstance(error, asyncpg_base.DataError)


def describe(error: BaseException) -> str:
    """One line for logs and /health: the type, the SQLSTATE when there is one."""
    sqlstate = getattr(error, "sqlstate", None)
    code = f" [{sqlstate}]" if sqlstate else ""
    return f"{type(error).__name__}{code}: {error}"
