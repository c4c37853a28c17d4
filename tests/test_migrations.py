"""The migrations: up, down to nothing, up again; and the committed schema dump."""

import subprocess
from pathlib import Path

import asyncpg

from langgraph_execution_monitor.storage.embedded import postgres_bin_dir
from langgraph_execution_monitor.storage.migrate import dbmate, migrate, migrations_dir
from tests.conftest import create_database

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "db" / "schema.sql"
MIGRATIONS = sorted(migrations_dir().glob("*.sql"))


async def user_objects(
    url: str, schemas: tuple[str, ...] = ("public", "execution_monitor")
) -> list[str]:
    """Tables, views, sequences, indexes and functions in these schemas, but dbmate's
    own table and the members of extensions (pg_trgm)."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = ANY($1::text[]) AND c.relname NOT LIKE 'schema_migrations%'
               UNION ALL
               SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = ANY($1::text[])
                 AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                   AND d.deptype = 'e')""",
            list(schemas),
        )
    finally:
        await connection.close()
    return sorted(row[0] for row in rows)


def pg_dump_schema(url: str) -> str:
    """Schema-only dump without the version banner, by the embedded pg_dump 18
    (which dumps any server from 9.2 on), so both sides use one binary. Without
    privileges, as dbmate dumps db/schema.sql (the roles' grants are checked by
    test_roles.py)."""
    dump = subprocess.run(
        [
            str(postgres_bin_dir() / "pg_dump"),
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "\n".join(
        line
        for line in dump.splitlines()
        if not line.startswith(("-- Dumped", "\\restrict", "\\unrestrict"))
        # Some server builds stamp columns with a private attribute option that
        # pg_dump 18 prints; it is not part of our schema.
        and "pg_attver=" not in line
    )


async def test_migrations_go_up_down_to_nothing_and_up_again(server_url: str) -> None:
    url = await create_database(server_url)
    migrate(url)
    assert "execution_logs" in await user_objects(url)

    for _ in MIGRATIONS:
        dbmate(url, "rollback")
    assert await user_objects(url) == []

    migrate(url)
    assert "log_batch" in await user_objects(url)


async def test_every_object_lives_in_the_librarys_schema(server_url: str) -> None:
    url = await create_database(server_url)
    migrate(url)

    assert await user_objects(url, ("public",)) == []
    assert {"execution_logs", "log_batch_v2", "list_executions"} <= set(
        await user_objects(url, ("execution_monitor",))
    )


async def test_migrations_recorded_in_public_by_a_bare_dbmate_are_adopted(
    server_url: str,
) -> None:
    url = await create_database(server_url)
    dbmate(url, "up", migrations_table="schema_migrations")  # what `dbmate up` records
    migrate(url)  # adopts them: nothing is applied twice

    connection = await asyncpg.connect(url)
    try:
        adopted = await connection.fetchval(
            "SELECT count(*) FROM execution_monitor.schema_migrations"
        )
        left = await connection.fetchval("SELECT to_regclass('public.schema_migrations')")
    finally:
        await connection.close()
    assert (adopted, left) == (len(MIGRATIONS), None)


async def test_committed_schema_matches_a_fresh_migration(server_url: str) -> None:
    migrated = await create_database(server_url)
    migrate(migrated)

    loaded = await create_database(server_url)
    subprocess.run(
        [
            str(postgres_bin_dir() / "psql"),
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-f",
            str(SCHEMA_FILE),
            loaded,
        ],
        capture_output=True,
        text=True,
        check=True,
    )

    assert pg_dump_schema(loaded) == pg_dump_schema(migrated), (
        "db/schema.sql is out of date: run `make schema` and commit it"
    )
