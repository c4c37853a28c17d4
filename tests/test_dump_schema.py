"""`make schema` (`python -m app.cli dump-schema`): it migrates a scratch database
of its own and drops it again, also when a migration fails."""

import argparse
import uuid
from pathlib import Path

import asyncpg
import pytest

import app.cli
from app.config import get_settings
from langgraph_execution_monitor.storage import migrate


async def test_a_failing_migration_leaves_no_scratch_database_behind(
    server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "migrations"
    broken.mkdir()
    (broken / "20990101000000_broken.sql").write_text(
        "-- migrate:up\nSELECT no_such_function();\n\n-- migrate:down\n"
    )
    monkeypatch.setattr(migrate, "migrations_dir", lambda: broken)
    scratch = uuid.uuid4()
    monkeypatch.setattr(app.cli.uuid, "uuid4", lambda: scratch)
    monkeypatch.setenv("DATABASE_URL", server_url)
    get_settings.cache_clear()
    monkeypatch.setattr(app.cli, "SCHEMA_FILE", tmp_path / "schema.sql")
    try:
        with pytest.raises(RuntimeError, match="no_such_function"):
            app.cli.dump_schema(argparse.Namespace())
    finally:
        get_settings.cache_clear()

    admin = await asyncpg.connect(server_url)
    try:
        left = await admin.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            f"schema_dump_{scratch.hex[:8]}",
        )
    finally:
        await admin.close()
    assert left == 0
