"""The migrations: up, down to nothing, up again; and the committed schema dump."""

import subprocess
from pathlib import Path

import asyncpg
import pytest

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


async def execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def has_pg_trgm(url: str) -> bool:
    connection = await asyncpg.connect(url)
    try:
        return bool(
            await connection.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
        )
    finally:
        await connection.close()


def rollback_all(url: str) -> None:
    for _ in MIGRATIONS:
        dbmate(url, "rollback")


async def test_dropping_the_librarys_schema_keeps_a_pg_trgm_the_host_had(server_url: str) -> None:
    """The README's way to remove the monitor: nothing of it is left, the host's
    extension is (20261130000004's released down would drop it, see the README)."""
    url = await create_database(server_url)
    await execute(url, "CREATE EXTENSION pg_trgm")
    migrate(url)

    await execute(url, "DROP SCHEMA execution_monitor CASCADE")

    assert await user_objects(url) == []
    assert await has_pg_trgm(url)


async def test_a_full_rollback_stops_before_dropping_a_pg_trgm_the_hosts_objects_use(
    server_url: str,
) -> None:
    """A host index on pg_trgm makes 20261130000004's down fail (its DROP EXTENSION has
    no CASCADE): the rollback stops there, the host's index and the extension intact."""
    url = await create_database(server_url)
    await execute(
        url,
        "CREATE EXTENSION pg_trgm; CREATE TABLE notes (body text);"
        " CREATE INDEX notes_body_trgm ON notes USING gin (body gin_trgm_ops)",
    )
    migrate(url)

    with pytest.raises(RuntimeError, match="cannot drop extension pg_trgm"):
        rollback_all(url)

    connection = await asyncpg.connect(url)
    try:
        applied = await connection.fetch(
            "SELECT version FROM execution_monitor.schema_migrations ORDER BY version"
        )
        index = await connection.fetchval("SELECT to_regclass('public.notes_body_trgm')")
    finally:
        await connection.close()
    assert [row["version"] for row in applied][-1] == "20261130000004"
    assert index is not None and await has_pg_trgm(url)


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
