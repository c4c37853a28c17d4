"""Running SQL the way a person at psql does: the psql binary (the embedded
PostgreSQL's, which works against any server >= 15), with the search path the
README gives, output unaligned."""

import subprocess

from langgraph_execution_monitor.storage.embedded import postgres_bin_dir


def psql(database_url: str, sql: str) -> list[list[str]]:
    """Rows of `sql` as lists of text fields (psql -A -t -F '|')."""
    done = subprocess.run(
        [
            str(postgres_bin_dir() / "psql"),
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-A",
            "-t",
            "-F",
            "|",
            "-c",
            "SET search_path = execution_monitor, public",
            "-c",
            sql,
            database_url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    lines = [line for line in done.stdout.splitlines() if line and line != "SET"]
    return [line.split("|") for line in lines]
