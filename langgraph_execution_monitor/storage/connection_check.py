"""Can we use this database? Answered in seconds, with one line a person can act
on, before anything else starts.

An unreachable server is retried for a short, bounded time (a server that is
just starting answers "connection refused" for a moment), then reported; a
wrong password or an unknown user is reported at once; a database that does not
exist is created only when the caller asks for it, since a mistyped name would
otherwise become a new, empty database."""

import asyncio
import socket
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from langgraph_execution_monitor.errors import StartupError
from langgraph_execution_monitor.storage.urls import (
    database_name,
    server_address,
    user_name,
    with_database,
)

T = TypeVar("T")

DEFAULT_WAIT_S = 3.0
RETRY_EVERY_S = 0.25
NOT_YET_ANSWERING = (ConnectionRefusedError, FileNotFoundError, asyncpg.CannotConnectNowError)


class DatabaseStartupError(StartupError):
    """The database named by the URL cannot be used as it is."""


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def acheck_database(url: str, *, create: bool = False, wait_s: float = DEFAULT_WAIT_S) -> str:
    """Connect once to `url` and return the server's version; raise a
    `DatabaseStartupError` when that cannot work. With `create`, a missing
    database is created (by the same user, on the same server)."""
    try:
        connection = await connect(url, wait_s)
    except asyncpg.InvalidCatalogNameError:
        if not create:
            raise DatabaseStartupError(
                f"database {database_name(url)!r} does not exist on {server_address(url)}",
                f"check the name in DATABASE_URL, create it (createdb {database_name(url)}), "
                "or let the monitor create it: --create-database (CREATE_DATABASE=1)",
            ) from None
        await create_database(url, wait_s)
        connection = await connect(url, wait_s)
    try:
        return str(await connection.fetchval("SHOW server_version")).split()[0]
    finally:
        await connection.close()


def blocking(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to its end from blocking code. Called inside a running event
    loop (like the blocking `migrate`), it runs on a thread of its own."""

    def run() -> T:
        return asyncio.run(make())

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="execution-monitor-db") as pool:
        return pool.submit(run).result()


def check_database(url: str, *, create: bool = False, wait_s: float = DEFAULT_WAIT_S) -> str:
    """`acheck_database`, blocking."""
    return blocking(lambda: acheck_database(url, create=create, wait_s=wait_s))


async def connect(url: str, wait_s: float) -> asyncpg.Connection:
    """A connection, or a `DatabaseStartupError` naming the cause. Lets
    `InvalidCatalogNameError` through for the caller to decide."""
    where = server_address(url)
    deadline = time.monotonic() + wait_s
    while True:
        remaining = max(deadline - time.monotonic(), 0.5)
        try:
            return await asyncpg.connect(url, timeout=remaining)
        except asyncpg.InvalidCatalogNameError:
            raise
        except asyncpg.InvalidPasswordError:
            given = urlsplit(url).password is not None
            raise DatabaseStartupError(
                f"password authentication failed for user {user_name(url)!r} at {where}"
                + ("" if given else " (DATABASE_URL has no password)"),
                "check the password in DATABASE_URL (or PGPASSWORD, ~/.pgpass)"
                if given
                else "give it in DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE) "
                "or PGPASSWORD",
            ) from None
        except asyncpg.InvalidAuthorizationSpecificationError as error:
            raise DatabaseStartupError(
                f"PostgreSQL at {where} refused user {user_name(url)!r}: {error}",
                "check the user in DATABASE_URL and the server's pg_hba.conf",
            ) from None
        except TimeoutError:
            raise DatabaseStartupError(
                f"cannot reach PostgreSQL at {where} (no answer within {wait_s:g} s)",
                "is the host right, and does a firewall let the connection through? "
                "DATABASE_WAIT_S waits longer",
            ) from None
        except socket.gaierror as error:
            raise DatabaseStartupError(
                f"cannot resolve the host of DATABASE_URL ({where}): {error.strerror}",
                "check the host name in DATABASE_URL",
            ) from None
        except (OSError, asyncpg.CannotConnectNowError) as error:
            if not not_yet_reachable(error):
                raise DatabaseStartupError(
                    f"cannot connect to PostgreSQL at {where}: {error}", "check DATABASE_URL"
                ) from None
            if time.monotonic() + RETRY_EVERY_S >= deadline:
                raise DatabaseStartupError(
                    f"cannot reach PostgreSQL at {where} ({describe(error)}, waited {wait_s:g} s)",
                    "is the server running, and are DATABASE_URL's host and port right? "
                    "(unset DATABASE_URL for the embedded PostgreSQL; DATABASE_WAIT_S=30 waits "
                    "longer for a server that is starting)",
                ) from None
            await asyncio.sleep(RETRY_EVERY_S)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise DatabaseStartupError(
                f"cannot connect to PostgreSQL at {where}: {error}", "check DATABASE_URL"
            ) from None


def not_yet_reachable(error: BaseException) -> bool:
    """Nothing answers yet (refused, no socket, the server starting up): worth
    another try while the wait lasts."""
    if isinstance(error, NOT_YET_ANSWERING):
        return True
    # asyncpg tries every address of a host name and reports them together.
    return isinstance(error, OSError) and "Connect call failed" in str(error)


async def create_database(url: str, wait_s: float) -> None:
    """Create the URL's database, connected to the server's `postgres`
    database. Another process creating it at the same moment is fine."""
    name = database_name(url)
    admin = await connect(with_database(url, "postgres"), wait_s)
    try:
        await admin.execute(f"CREATE DATABASE {quote_identifier(name)}")
    except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
        pass  # created by another process meanwhile
    except asyncpg.InsufficientPrivilegeError:
        raise DatabaseStartupError(
            f"user {user_name(url)!r} may not create database {name!r} on {server_address(url)}",
            f"create it as an administrator (createdb -O {user_name(url)} {name})",
        ) from None
    finally:
        await admin.close()


def describe(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError) or "Connect call failed" in str(error):
        return "connection refused"
    if isinstance(error, FileNotFoundError):
        return "no socket there"
    return str(error) or type(error).__name__
