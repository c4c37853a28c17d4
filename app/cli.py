"""This app's command line: the library's (`migrate`, `serve`, `status`), with
this app as what `serve` runs, plus `serve --demo` and `dump-schema`.

    python -m app.cli serve [--demo] [--host H] [--port P]

With no DATABASE_URL, `serve` starts an embedded PostgreSQL in var/postgres,
applies the migrations and serves the API and dashboard on it.
"""

import argparse
import contextlib
import os
import uuid
from pathlib import Path

from app.config import get_settings
from langgraph_execution_monitor import cli
from langgraph_execution_monitor.storage.migrate import dbmate
from langgraph_execution_monitor.storage.urls import with_database

APP = "app.api.main:app"
# The committed dump of the schema the migrations build (dbmate's default path).
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "db" / "schema.sql"


def serve(args: argparse.Namespace) -> int:
    if args.demo:
        os.environ["DEMO_TRAFFIC"] = "1"
        os.environ.setdefault("AGENT_NODE_DELAY_S", "0.05")
    return cli.serve_command(args)


def dump_schema(_: argparse.Namespace) -> int:
    """Write db/schema.sql from a scratch database migrated from nothing."""
    url = get_settings().database_url
    if not url:
        raise SystemExit("dump-schema needs DATABASE_URL (a server whose pg_dump is on PATH)")
    scratch = with_database(url, f"schema_dump_{uuid.uuid4().hex[:8]}")
    try:
        dbmate(scratch, "up", schema_file=SCHEMA_FILE)
    except BaseException:  # a migration that fails must not leave the scratch database
        with contextlib.suppress(RuntimeError):
            dbmate(scratch, "drop")
        raise
    dbmate(scratch, "drop")
    return 0


def export_settings() -> None:
    """The library reads the environment; this app also reads `.env`."""
    settings = get_settings()
    for name, value in (
        ("DATABASE_URL", settings.database_url),
        ("MONITORING_API_TOKEN", settings.monitoring_api_token),
        ("EMBEDDED_DATA_DIR", str(settings.embedded_data_dir)),
        ("CREATE_DATABASE", "1" if settings.create_database else ""),
    ):
        if value and not os.environ.get(name):
            os.environ[name] = value


def main() -> None:
    export_settings()
    parser, commands = cli.build_parser(default_app=APP)
    serve_parser = commands.choices["serve"]
    serve_parser.add_argument("--demo", action="store_true", help="keep demo chat runs going")
    serve_parser.set_defaults(run=serve)
    commands.add_parser("dump-schema", help="regenerate db/schema.sql").set_defaults(
        run=dump_schema
    )
    cli.run(parser.parse_args())


if __name__ == "__main__":
    main()
