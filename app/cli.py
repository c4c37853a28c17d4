"""Command line: `serve` (the main job), `migrate`, `dump-schema`.

    python -m app.cli serve [--demo] [--host H] [--port P]

With no DATABASE_URL, `serve` starts an embedded PostgreSQL in var/postgres,
applies the migrations and serves the API and dashboard on it.
"""

import argparse
import logging
import os
import signal
import sys
import uuid
from pathlib import Path

import uvicorn

from app.config import get_settings
from app.storage.bootstrap import prepare_database, resolve_database_url
from langgraph_execution_monitor.storage.migrate import dbmate, migrate
from langgraph_execution_monitor.storage.urls import with_database

logger = logging.getLogger("app.cli")

# The committed dump of the schema the migrations build (dbmate's default path).
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "db" / "schema.sql"


def serve(args: argparse.Namespace) -> None:
    settings = get_settings()
    # Started here (not in the server process's lifespan) so that one embedded
    # server lives as long as this command.
    os.environ["DATABASE_URL"] = prepare_database(settings)
    os.environ["MIGRATE_ON_START"] = "0"
    if args.demo:
        os.environ["DEMO_TRAFFIC"] = "1"
        os.environ.setdefault("AGENT_NODE_DELAY_S", "0.05")
    get_settings.cache_clear()  # the app reads the variables set above
    host = args.host
    if host is None:
        # Monitoring data holds user messages: without a token, stay local.
        host = "0.0.0.0" if settings.monitoring_api_token else "127.0.0.1"
    print(
        f"Dashboard: http://{'127.0.0.1' if host == '0.0.0.0' else host}:{args.port}/", flush=True
    )
    # uvicorn ends by re-raising SIGTERM; exit normally instead, so that the
    # embedded PostgreSQL is stopped by its exit handler.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run("app.api.main:app", host=host, port=args.port, log_level="info")


def dump_schema(_: argparse.Namespace) -> None:
    """Write db/schema.sql from a scratch database migrated from nothing."""
    url = get_settings().database_url
    if not url:
        raise SystemExit("dump-schema needs DATABASE_URL (a server whose pg_dump is on PATH)")
    scratch = with_database(url, f"schema_dump_{uuid.uuid4().hex[:8]}")
    dbmate(scratch, "up", schema_file=SCHEMA_FILE)
    dbmate(scratch, "drop")


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(prog="monitor", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the API and dashboard")
    serve_parser.add_argument("--demo", action="store_true", help="keep demo chat runs going")
    serve_parser.add_argument("--host", default=None)
    serve_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve_parser.set_defaults(run=serve)
    commands.add_parser("migrate", help="apply migrations").set_defaults(
        run=lambda _: print(migrate(resolve_database_url(get_settings())), end="")
    )
    commands.add_parser("dump-schema", help="regenerate db/schema.sql").set_defaults(
        run=dump_schema
    )
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
