"""CI's check of the wheel as a user gets it: `python -m tests.wheel_check`
(`make wheel-check`).

Builds the wheel, installs it (no extras, versions from the constraints file)
into a fresh virtual env, and from a folder with no source tree: migrates a
fresh database on DATABASE_URL's server through the installed library, checks
that `status` finds nothing pending, that the wheel holds no `app` package, and
that without the `[embedded]` extra a missing DATABASE_URL says what to
install. The database is dropped at the end."""

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from langgraph_execution_monitor.storage.urls import with_database

REPO = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO / "requirements" / "constraints.txt"


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, cwd=cwd, env=env
    )
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{done.stdout}{done.stderr}")
    return done.stdout


async def drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def main() -> None:
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        raise SystemExit("wheel_check needs DATABASE_URL (a server it may create a database on)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="elm-wheel-") as scratch:
        root = Path(scratch)
        run(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            root / "dist",
            REPO,
            cwd=root,
        )
        wheel = next((root / "dist").glob("langgraph_execution_monitor-*.whl"))
        run(sys.executable, "-m", "venv", root / "venv", cwd=root)
        python = root / "venv" / "bin" / "python"
        run(
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-c",
            CONSTRAINTS,
            wheel,
            cwd=root,
        )
        print(f"installed {wheel.name} in a fresh venv ({time.monotonic() - started:.0f} s)")

        elsewhere = root / "work"
        elsewhere.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
        cli = root / "venv" / "bin" / "langgraph-execution-monitor"

        probe_code = (
            "import importlib.util as u, langgraph_execution_monitor as m; "
            "print(u.find_spec('app') is None, m.__file__)"
        )
        probe = run(python, "-c", probe_code, cwd=elsewhere, env=env)
        no_app, location = probe.split()
        assert no_app == "True", "the wheel installs a package named app"
        assert location.startswith(str(root / "venv")), location

        name = f"wheel_check_{uuid.uuid4().hex[:8]}"
        url = with_database(server_url, name)
        try:
            output = run(
                cli, "migrate", "--create-database", cwd=elsewhere, env={**env, "DATABASE_URL": url}
            )
            assert "Migrations: applied" in output, output
            status = run(
                cli, "status", "--port", "9", cwd=elsewhere, env={**env, "DATABASE_URL": url}
            )
            assert " 0 pending" in status, status
            print(output.strip())
        finally:
            asyncio.run(drop_database(server_url, name))

        no_embedded = subprocess.run(
            [str(cli), "migrate"],
            capture_output=True,
            text=True,
            cwd=elsewhere,
            env={k: v for k, v in env.items() if k != "DATABASE_URL"},
        )
        assert no_embedded.returncode == 2, no_embedded
        assert "[embedded]" in no_embedded.stderr, no_embedded.stderr
        assert not (elsewhere / "var").exists()
    print(f"wheel check passed in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
