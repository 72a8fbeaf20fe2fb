# Thawgate's commands. `make` (or `make help`) lists them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Test directories for the SQLite pass, and for the second pass on PostgreSQL
# (run only when THAWGATE_TEST_POSTGRES_URL is set). Directories that do not exist yet are skipped.
TESTS ?= tests/unit tests/integration tests/e2e tests/browser
PG_TESTS ?= tests/integration tests/e2e
LINT_PATHS ?= src tests bench

existing = $(wildcard $(1))

.PHONY: help venv demo test pytest lint fmt db-check bench clean i18n screenshots

help: ## list the targets (the default)
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

venv: $(STAMP) ## create .venv and install thawgate with its dev tools (redone when pyproject.toml changes)

demo: $(STAMP) ## init a local database, load a demo exchange and serve it; prints the URL and logins
	$(BIN)/thawgate demo

test: lint db-check pytest ## lint, check migrations, run the tests (again on PostgreSQL if THAWGATE_TEST_POSTGRES_URL is set)

pytest: $(STAMP) ## run the tests only: TESTS on SQLite, then PG_TESTS on PostgreSQL if configured
	@test -n "$(call existing,$(TESTS))" || { echo "no test directory exists among: $(TESTS)" >&2; exit 1; }
	$(BIN)/python -m pytest $(call existing,$(TESTS)) -q
	@if [ -z "$${THAWGATE_TEST_POSTGRES_URL:-}" ]; then \
		echo "THAWGATE_TEST_POSTGRES_URL is not set: skipping the PostgreSQL pass"; \
	elif [ -z "$(call existing,$(PG_TESTS))" ]; then \
		echo "no test directory exists among: $(PG_TESTS)" >&2; exit 1; \
	else \
		echo "== the same tests on PostgreSQL: $(call existing,$(PG_TESTS))"; \
		THAWGATE_TEST_DATABASE=postgres $(BIN)/python -m pytest $(call existing,$(PG_TESTS)) -q; \
	fi

lint: $(STAMP) ## ruff check, ruff format --check, mypy --strict on src/, import-linter contracts
	$(BIN)/ruff check $(call existing,$(LINT_PATHS))
	$(BIN)/ruff format --check $(call existing,$(LINT_PATHS))
	$(BIN)/mypy src
	$(BIN)/lint-imports

fmt: $(STAMP) ## format the code and apply ruff's safe fixes
	$(BIN)/ruff format $(call existing,$(LINT_PATHS))
	$(BIN)/ruff check --fix $(call existing,$(LINT_PATHS))

db-check: $(STAMP) ## upgrade a scratch database to head and run alembic check (SQLite; PostgreSQL too if configured)
	$(BIN)/python -m thawgate.adapters.db.check

bench: $(STAMP) ## run the benchmarks: decisions, risk, audit log, execution, console queue, authority
	$(BIN)/python bench/run.py
	$(BIN)/python bench/risk.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/execution.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/authority.py

clean: ## remove the venv, tool caches and the local thawgate.db
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .hypothesis \
		build dist src/*.egg-info
	rm -f thawgate.db*
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

I18N_DIR := src/thawgate/entrypoints/web/translations

i18n: $(STAMP) ## extract the console's strings (and the risk sentences), update the zh_CN catalog, compile it
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ --no-location --sort-output --omit-header -o $(I18N_DIR)/messages.pot .
	$(BIN)/pybabel update -i $(I18N_DIR)/messages.pot -d $(I18N_DIR) -l zh_CN --no-fuzzy-matching
	$(BIN)/pybabel compile -d $(I18N_DIR) -l zh_CN --statistics

screenshots: $(STAMP) ## run the browser tests and keep their screenshots in docs/screenshots
	THAWGATE_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/browser -q
