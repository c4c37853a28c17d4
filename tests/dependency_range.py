"""CI's check of the library's version ranges at both ends:
`python -m tests.dependency_range [lowest|highest]` (`make test-dependency-range`).

A host installs the library next to its own fastapi, pydantic, langgraph...: every
runtime dependency in pyproject.toml (`[project].dependencies`) is a range, and this
proves each end of it. For each end, a fresh virtual env gets the library (editable,
with its test extras) and its runtime dependencies at that end:

- lowest: each one pinned to its range's lower bound (`name==bound`), all at once, so
  a bound that no release set can meet together fails to install (raise it then);
- highest: each range as declared, so the newest release it admits comes; a check
  then fails if something held one back (a newer one within the range exists).

What those dependencies pull in (starlette, pydantic-core, langgraph-checkpoint...) is
resolved afresh (by uv), not taken from the constraints file; the test tools keep their
pinned versions. Then the tests that exercise those libraries run: capture (langgraph,
langchain-core), the writer and its JSON (asyncpg, orjson), the library as a host uses
it, the router, the API and the live stream (fastapi, starlette, pydantic, sse-starlette,
prometheus-client), against DATABASE_URL's server."""

import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO / "requirements" / "constraints.txt"
ENDS = ("lowest", "highest")
# Each end's virtual env, kept after the run to look into (.gitignore'd).
VENV = {end: REPO / f".venv-range-{end}" for end in ENDS}
# The tests that exercise the runtime dependencies: about 2 minutes on CI's 2 cores.
TESTS = (
    "tests/test_capture.py",
    "tests/test_capture_langgraph.py",
    "tests/test_library_monitor.py",
    "tests/test_monitor_to_table.py",
    "tests/test_trace_text.py",
    "tests/test_library_router.py",
    "tests/test_api_smoke.py",
    "tests/test_api_monitoring.py",
    "tests/test_metrics.py",
    "tests/test_stream.py",
)
# Test tools (the [test] extra) these tests do not use, and the largest to install.
UNUSED_TOOLS = {"playwright", "schemathesis", "ruff"}
# Not declared, pulled in by the ones that are: shown beside them.
ALSO_SHOWN = ("starlette", "pydantic-core")


def run(*command: str | Path, capture: bool = False) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=REPO, capture_output=capture, text=True
    )
    if done.returncode != 0:
        output = f"\n{done.stdout}{done.stderr}" if capture else ""
        raise SystemExit(f"failed: {' '.join(map(str, command))}{output}")
    return done.stdout if capture else ""


def project() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def runtime_requirements() -> list[Requirement]:
    return [Requirement(line) for line in project()["dependencies"]]


def test_tools() -> list[str]:
    """The [test] extra's tools these tests use (not the library itself, nor its
    [embedded] extra: the tests run on DATABASE_URL's server)."""
    tools = (Requirement(line) for line in project()["optional-dependencies"]["test"])
    return [
        str(tool)
        for tool in tools
        if canonicalize_name(tool.name) != canonicalize_name(project()["name"])
        and tool.name not in UNUSED_TOOLS
    ]


def lower_bound(requirement: Requirement) -> str:
    bounds = [s.version for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    if not bounds:
        raise SystemExit(f"{requirement}: a range without a lower bound cannot be tested")
    return str(max(bounds, key=Version))


def pinned_at(end: str, requirement: Requirement) -> str:
    if end == "lowest":
        return f"{requirement.name}=={lower_bound(requirement)}"
    return str(requirement)


def closure(names: list[str]) -> set[str]:
    """These distributions and all they require, as installed in the running venv."""
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return seen


def tool_constraints(requirements: list[Requirement], folder: Path) -> Path:
    """The constraints file without the runtime dependencies and what they pull in."""
    runtime = closure([r.name for r in requirements])
    kept = [
        line
        for line in CONSTRAINTS.read_text().splitlines()
        if line
        and not line.startswith("#")
        and canonicalize_name(line.split("==")[0]) not in runtime
    ]
    path = folder / "constraints.txt"
    path.write_text("\n".join(kept) + "\n")
    return path


def installed_versions(python: Path, names: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys; "
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    return json.loads(run(python, "-c", code, *names, capture=True))


def uv(*args: str | Path, capture: bool = False) -> str:
    """uv (the [test] extra's): it resolves and installs from its cache in seconds, where
    pip took over a minute per venv here, asking the index about every package."""
    found = Path(sys.executable).parent / "uv"
    return run(found if found.exists() else "uv", *args, "--native-tls", capture=capture)


def newest_admitted(python: Path, requirements: list[Requirement]) -> dict[str, str]:
    """What a resolver picks for the declared ranges alone, nothing else asked for."""
    with tempfile.TemporaryDirectory(prefix="elm-range-") as scratch:
        wanted = Path(scratch) / "requirements.in"
        wanted.write_text("\n".join(map(str, requirements)) + "\n")
        picked = uv(
            "pip", "compile", "-q", "--no-header", "--no-annotate", "--python", python, wanted,
            capture=True,
        )  # fmt: skip
    return {
        canonicalize_name(name): version
        for name, version in (line.split("==") for line in picked.splitlines() if "==" in line)
    }


def check_end(end: str) -> None:
    started = time.monotonic()
    requirements = runtime_requirements()
    venv = VENV[end]
    python = venv / "bin" / "python"
    uv("venv", "-q", "--clear", "--python", sys.executable, venv)
    uv(
        "pip", "install", "-q", "--python", python,
        "-c", tool_constraints(requirements, venv), "-e", ".[demo]", *test_tools(),
        *(pinned_at(end, r) for r in requirements),
    )  # fmt: skip
    names = [r.name for r in requirements]
    versions = installed_versions(python, [*names, *ALSO_SHOWN])
    print(f"== {end} end of the declared ranges ({time.monotonic() - started:.0f} s to install)")
    for requirement in requirements:
        print(f"   {requirement.name:<18} {versions[requirement.name]:<10} ({requirement})")
    for name in ALSO_SHOWN:
        print(f"   {name:<18} {versions[name]:<10} (pulled in)")
    if end == "highest":
        newest = newest_admitted(python, requirements)
        held_back = [
            f"{name} {versions[name]} (the range admits {newest[canonicalize_name(name)]})"
            for name in names
            if Version(versions[name]) < Version(newest[canonicalize_name(name)])
        ]
        if held_back:
            raise SystemExit(f"the highest end is not the highest: {', '.join(held_back)}")
    tested = time.monotonic()
    run(venv / "bin" / "pytest", "-q", "-p", "no:cacheprovider", *TESTS)
    print(f"-- {end} end: {time.monotonic() - tested:.0f} s of tests")


def main() -> None:
    ends = sys.argv[1:] or list(ENDS)
    unknown = set(ends) - set(ENDS)
    if unknown:
        raise SystemExit(f"usage: python -m tests.dependency_range [{'|'.join(ENDS)}]...")
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("dependency_range needs DATABASE_URL (a server to run the tests on)")
    os.environ.pop("VIRTUAL_ENV", None)
    for end in ends:
        check_end(end)


if __name__ == "__main__":
    main()
