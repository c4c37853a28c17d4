"""Which database the monitor uses, checked before anything else starts:
DATABASE_URL's, or (when it is unset) the embedded PostgreSQL's, started on
demand. Both the command line and an app's lifespan come through here, so a
person sees the same one-line answers either way."""

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph_execution_monitor.errors import StartupError
from langgraph_execution_monitor.storage.connection_check import DEFAULT_WAIT_S, check_database
from langgraph_execution_monitor.storage.embedded import (
    EMBEDDED_DATABASE,
    default_data_dir,
    psql_command,
    start_embedded,
)
from langgraph_execution_monitor.storage.urls import redacted


@dataclass
class Database:
    url: str
    # One line naming the server and the database, the password hidden.
    description: str
    # For the embedded server: the command that opens psql on it.
    psql: str | None = None
    # The embedded server's handle: it stops the server when this process exits.
    embedded: Any = None


def open_database(
    database_url: str | None,
    *,
    data_dir: Path | None = None,
    create: bool = False,
    wait_s: float = DEFAULT_WAIT_S,
) -> Database:
    """The database to use, reachable and logged into; raises `StartupError`
    with what to do otherwise. `create` lets a missing DATABASE_URL database be
    created; the embedded server's own database is always created."""
    if database_url:
        version = check_database(database_url, create=create, wait_s=wait_s)
        return Database(
            database_url, f"PostgreSQL {version} at {redacted(database_url)} (DATABASE_URL)"
        )
    data_dir = (data_dir or default_data_dir()).resolve()
    try:
        server = start_embedded(data_dir)
    except (subprocess.SubprocessError, OSError) as error:
        raise StartupError(
            f"the embedded PostgreSQL in {data_dir} did not start: {error}",
            f"its log is {data_dir / 'log'}; set EMBEDDED_DATA_DIR to use another folder",
        ) from None
    url = str(server.get_uri(EMBEDDED_DATABASE))
    version = check_database(url, create=True, wait_s=wait_s)
    return Database(
        url,
        f"embedded PostgreSQL {version} in {data_dir}, database {EMBEDDED_DATABASE} "
        "(DATABASE_URL is not set)",
        psql=psql_command(url),
        embedded=server,
    )
