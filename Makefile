# One target per task. `make help` lists them.
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install serve demo test test-embedded test-both lint format migrate schema bench bench-read bench-overhead bench-ingest bench-stream bench-dashboard

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,bench]'
	touch $@

install: $(VENV)/.installed  ## create the virtual env and install the project

serve: install  ## run the server + dashboard (embedded PostgreSQL when DATABASE_URL is unset)
	$(PY) -m app.cli serve

demo: install  ## serve, with a trickle of demo chat runs
	$(PY) -m app.cli serve --demo

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

migrate: install  ## apply migrations to DATABASE_URL
	$(PY) -m app.cli migrate

schema: install  ## regenerate db/schema.sql from a scratch database on DATABASE_URL's server
	$(PY) -m app.cli dump-schema

bench: bench-read bench-overhead bench-ingest bench-stream  ## every benchmark

bench-read: install  ## reads at 1,000,000 rows
	$(PY) -m bench.read

bench-overhead: install  ## capture overhead vs no monitoring vs OpenTelemetry
	$(PY) -m bench.overhead

bench-ingest: install  ## sustained executions/s, enqueue to committed row
	$(PY) -m bench.ingest

bench-stream: install  ## SSE freshness with 500 clients
	$(PY) -m bench.stream

bench-dashboard: install  ## the dashboard's main-thread busy time under live load (Chromium)
	$(PY) -m bench.dashboard
