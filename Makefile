# Two commands matter: `make run` (set up, migrate, load the demo, serve) and
# `make test` (set up and run the whole suite). Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi
# The suite runs on every core (pytest-xdist), a module per worker so module-scoped data is built once;
# each worker has its own databases (tests/conftest.py). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS) --dist loadscope

.PHONY: help setup run test e2e unit lint format security db-check bench bench-smoke load chromium assets clean

help:
	@echo "make run       set up, migrate, load the demo and serve on http://$(HOST):$(PORT)"
	@echo "make test      set up and run the whole test suite (SQLite, or TEST_DATABASE_URL)"
	@echo "make unit      the suite without browser tests"
	@echo "make e2e       browser tests only"
	@echo "make lint      ruff check and format check"
	@echo "make security  bandit over the application (explained skips in pyproject.toml)"
	@echo "make format    ruff format and fix"
	@echo "make db-check  upgrade an empty database and check models and migrations agree"
	@echo "make bench     benchmarks, results in bench/results.md (FRESH=1 rebuilds the data)"
	@echo "make bench-smoke  the benchmark at its smallest size, SQLite, results to a temp file (CI)"
	@echo "make load      load test: gunicorn on PostgreSQL, 50 users for 2 minutes (USERS=10 DURATION=20s: a trial)"

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

audit_app/static/dist/.built: node_modules/.installed scripts/build-assets.mjs $(wildcard assets/*/*)
	node scripts/build-assets.mjs
	touch $@

assets: audit_app/static/dist/.built

setup: $(VENV)/.runtime assets

run: setup
	APP_ENV=development $(BIN)/flask db upgrade
	APP_ENV=development $(BIN)/flask demo load
	APP_ENV=development $(BIN)/flask run --host $(HOST) --port $(PORT)

chromium:
	bash scripts/ensure-chromium.sh

test: $(VENV)/.dev assets chromium
	$(BIN)/pytest $(XDIST)

unit: $(VENV)/.dev assets
	$(BIN)/pytest $(XDIST) -m "not e2e"

e2e: $(VENV)/.dev assets chromium
	$(BIN)/pytest -m e2e

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

security: $(VENV)/.dev
	$(BIN)/bandit -q -c pyproject.toml -r audit_app

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

db-check: $(VENV)/.runtime
	bash scripts/db-check.sh

# FRESH=1 regenerates the benchmark databases; BENCH_ARGS passes more options to bench/run.py
bench: $(VENV)/.dev
	$(BIN)/python bench/run.py $(if $(FRESH),--fresh,) $(BENCH_ARGS)
	$(BIN)/python bench/report_pdf.py
	$(BIN)/python bench/sa_heatmap.py

# the benchmark at its smallest size (SQLite, 5 runs each, under a minute), so CI notices when it breaks;
# it writes its results to a temporary file, never bench/results.md
bench-smoke: $(VENV)/.dev
	$(BIN)/python bench/run.py --size smoke $(if $(FRESH),--fresh,) $(BENCH_ARGS)

# the load test (bench/load/run.py): gunicorn with 4 workers on PostgreSQL, jobs on RQ, locust with 50 users for
# 2 minutes, results in bench/results.md; USERS and DURATION shorten it (a trial, written to a temp file);
# LOAD_ARGS passes more options (e.g. --redis-url, --pg-url, --output)
load: $(VENV)/.dev
	$(BIN)/python bench/load/run.py $(if $(USERS),--users $(USERS),) $(if $(DURATION),--duration $(DURATION),) $(LOAD_ARGS)

clean:
	rm -rf $(VENV) node_modules audit_app/static/dist
