"""The command line: `langgraph-execution-monitor migrate | serve | status`.

    langgraph-execution-monitor migrate [--create-database]
    langgraph-execution-monitor serve module:app [--host H] [--port P]
    langgraph-execution-monitor status [--url http://127.0.0.1:8000]

Settings come from the environment: DATABASE_URL (unset: an embedded
PostgreSQL in EMBEDDED_DATA_DIR, default ./var/postgres), PORT, HOST,
MONITORING_API_TOKEN, CREATE_DATABASE, DATABASE_WAIT_S, MONITOR_APP. Output is
a few lines; `-v` adds the logs. A start-up problem ends the command with one
`error:` line and one `hint:` line, exit status 2.
"""

import argparse
import errno
import ipaddress
import json
import logging
import os
import signal
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from langgraph_execution_monitor.errors import StartupError
from langgraph_execution_monitor.startup import Database, open_database
from langgraph_execution_monitor.storage.connection_check import DEFAULT_WAIT_S, check_database
from langgraph_execution_monitor.storage.embedded import (
    EMBEDDED_DATABASE,
    default_data_dir,
    psql_command,
    running_embedded_url,
)
from langgraph_execution_monitor.storage.migrate import migrate, migration_status
from langgraph_execution_monitor.storage.urls import redacted

PROG = "langgraph-execution-monitor"
DEFAULT_PORT = 8000
STARTUP_FAILED = 2


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def wait_seconds() -> float:
    return float(os.environ.get("DATABASE_WAIT_S") or DEFAULT_WAIT_S)


def announce_database(database: Database) -> None:
    print(f"Database: {database.description}", flush=True)
    if database.psql:
        print(f"psql: {database.psql}", flush=True)


def apply_migrations(url: str) -> None:
    applied = migrate(url, wait_s=wait_seconds())
    total = len(migration_status(url).applied)
    if applied:
        print(f"Migrations: applied {len(applied)} now, {total} in all, none pending", flush=True)
    else:
        print(f"Migrations: up to date ({total} applied)", flush=True)


def open_configured_database(create: bool) -> Database:
    return open_database(
        os.environ.get("DATABASE_URL") or None,
        data_dir=default_data_dir(),
        create=create,
        wait_s=wait_seconds(),
    )


# --- migrate -----------------------------------------------------------------


def migrate_command(args: argparse.Namespace) -> int:
    database = open_configured_database(args.create_database)
    announce_database(database)
    apply_migrations(database.url)
    return 0


# --- serve -------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None, allow_no_token: bool) -> None:
    """Monitoring data holds user messages: beyond this machine, a token."""
    if token or allow_no_token or is_loopback(host):
        return
    raise StartupError(
        f"refusing to serve on {host} without MONITORING_API_TOKEN: anyone who can reach "
        "this address could read the monitored conversations",
        "set MONITORING_API_TOKEN, serve locally (--host 127.0.0.1), or accept it "
        "with --allow-no-token (ALLOW_NO_TOKEN=1)",
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """The listening socket, taken before anything else starts, so that a busy
    port is the first thing said."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {port} on {host} is already in use (another server is listening there)",
                f"choose another port: --port {port + 1}, or PORT={port + 1}",
            ) from None
        raise StartupError(
            f"cannot listen on {host}:{port}: {error.strerror}",
            "choose another address or port: --host, --port (HOST, PORT)",
        ) from None
    sock.set_inheritable(True)
    return sock


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server, saying where the dashboard is once the app is up."""

    def __init__(self, config: uvicorn.Config, announcement: str) -> None:
        super().__init__(config)
        self.announcement = announcement

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(self.announcement, flush=True)


def exit_quietly(signum: int, _frame: Any) -> None:
    # Exit normally (not by the signal), so that exit handlers run: the
    # embedded PostgreSQL's stops the server.
    sys.exit(0)


def serve_command(args: argparse.Namespace) -> int:
    target = args.app
    if not target:
        raise StartupError(
            "serve needs the ASGI app to run",
            f"name it: {PROG} serve module:attribute (or MONITOR_APP=module:attribute)",
        )
    token = os.environ.get("MONITORING_API_TOKEN") or None
    host = args.host or os.environ.get("HOST") or ("0.0.0.0" if token else "127.0.0.1")
    check_exposure(host, token, args.allow_no_token)
    sock = bind_socket(host, args.port)

    database = open_configured_database(args.create_database)
    announce_database(database)
    apply_migrations(database.url)
    # The app reads these: the database is ready, migrated already.
    os.environ["DATABASE_URL"] = database.url
    os.environ["MIGRATE_ON_START"] = "0"

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, exit_quietly)
    sys.path.insert(0, str(Path.cwd()))  # as `uvicorn module:app` does
    config = uvicorn.Config(
        target,
        host=host,
        port=args.port,
        log_level="info" if args.verbose else "warning",
        access_log=args.verbose,
    )
    shown_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    server = AnnouncingServer(
        config, f"Dashboard: http://{shown_host}:{args.port}/  (Ctrl+C stops)"
    )
    server.run(sockets=[sock])
    return 0 if server.started else 1


# --- status ------------------------------------------------------------------


def fetch_health(base_url: str, token: str | None) -> dict[str, Any]:
    request = urllib.request.Request(base_url.rstrip("/") + "/health")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as error:
        if error.code == 503:  # degraded: the body says what
            return dict(json.load(error))
        raise


def describe_health(health: dict[str, Any]) -> str:
    writer = health.get("writer") or {}
    listener = health.get("listener") or {}
    return (
        f"{health.get('status', '?')} (database {health.get('database', '?')}); "
        f"writer {'running' if writer.get('running') else 'stopped'}, "
        f"{writer.get('queue_depth', 0)} queued, {writer.get('written', 0)} written, "
        f"{writer.get('dropped', 0)} dropped; "
        f"stream listener {listener.get('state', '?')}, {listener.get('clients', 0)} clients"
    )


def status_command(args: argparse.Namespace) -> int:
    ready = True
    url = os.environ.get("DATABASE_URL") or None
    if url:
        print(f"Database: {redacted(url)} (DATABASE_URL)")
    else:
        data_dir = default_data_dir().resolve()
        print(
            f"Database: embedded PostgreSQL in {data_dir}, database {EMBEDDED_DATABASE} "
            "(DATABASE_URL is not set)"
        )
        url = running_embedded_url(data_dir)
        if url is None:
            print("  not running (serve and migrate start it)")
            ready = False
        else:
            print(f"  psql: {psql_command(url)}")
    if url:
        try:
            version = check_database(url, wait_s=wait_seconds())
        except StartupError as error:
            print(*(f"  {line}" for line in error.lines()), sep="\n")
            ready = False
        else:
            print(f"  reachable: PostgreSQL {version}")
            migrations = migration_status(url)
            pending = f": {', '.join(migrations.pending)}" if migrations.pending else ""
            print(
                f"Migrations: {len(migrations.applied)} applied, "
                f"{len(migrations.pending)} pending{pending}"
            )
            ready = ready and not migrations.pending

    base_url = args.url or f"http://127.0.0.1:{args.port}"
    try:
        health = fetch_health(base_url, os.environ.get("MONITORING_API_TOKEN") or None)
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        print(f"Server {base_url}: not reachable ({reason})")
    else:
        print(f"Server {base_url}: {describe_health(health)}")
    return 0 if ready else 1


# --- main --------------------------------------------------------------------


def build_parser(
    *, default_app: str | None = None
) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:  # type: ignore[type-arg]
    """The parser and its commands (an app adds options or commands to them);
    `default_app` is what `serve` runs when no app is named."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="show the logs too")
    commands = parser.add_subparsers(dest="command", required=True)

    def database_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--create-database",
            action="store_true",
            default=env_flag("CREATE_DATABASE"),
            help="create DATABASE_URL's database when it does not exist (CREATE_DATABASE=1)",
        )

    migrate_parser = commands.add_parser("migrate", help="apply pending migrations")
    database_options(migrate_parser)
    migrate_parser.set_defaults(run=migrate_command)

    serve_parser = commands.add_parser("serve", help="migrate, then serve an ASGI app")
    serve_parser.add_argument(
        "app",
        nargs="?",
        default=os.environ.get("MONITOR_APP") or default_app,
        help="the app to serve, module:attribute (MONITOR_APP)"
        + (f"; default {default_app}" if default_app else ""),
    )
    serve_parser.add_argument(
        "--host", help="address to listen on (HOST; default 127.0.0.1, 0.0.0.0 with a token)"
    )
    serve_parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or DEFAULT_PORT),
        help=f"port to listen on (PORT; default {DEFAULT_PORT})",
    )
    serve_parser.add_argument(
        "--allow-no-token",
        action="store_true",
        default=env_flag("ALLOW_NO_TOKEN"),
        help="serve beyond 127.0.0.1 without MONITORING_API_TOKEN (ALLOW_NO_TOKEN=1)",
    )
    database_options(serve_parser)
    serve_parser.set_defaults(run=serve_command)

    status_parser = commands.add_parser(
        "status", help="database, migrations, and a running server's health"
    )
    status_parser.add_argument("--url", help="the running server (default http://127.0.0.1:PORT)")
    status_parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT") or DEFAULT_PORT)
    )
    status_parser.set_defaults(run=status_command)
    return parser, commands


def configure_logging(verbose: bool) -> None:
    if verbose:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    else:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def run(args: argparse.Namespace) -> None:
    """Run the parsed command; a `StartupError` becomes its two lines on
    stderr and exit status 2, without a traceback."""
    configure_logging(args.verbose)
    try:
        code = args.run(args)
    except StartupError as error:
        print(*error.lines(), sep="\n", file=sys.stderr, flush=True)
        code = STARTUP_FAILED
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> None:
    parser, _ = build_parser()
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
