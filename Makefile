# The only commands a contributor needs: `make demo`, `make test`, `make lint`.
#
# `make venv` creates .venv (python3 -m venv) and installs siklus with its dev extras;
# it re-installs only when pyproject.toml changed (the stamp file lives inside .venv, so
# deleting .venv also forgets the stamp).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.siklus-installed
POSTGRES_URL_FILE := .ci/postgres-url
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="tests/store -x"`.
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv demo test lint

help:
	@echo "make venv   create .venv and install siklus with its dev extras"
	@echo "make demo   run the end-to-end lifecycle demo (siklus quickstart)"
	@echo "make test   run the test suite (starts PostgreSQL for its tests when possible)"
	@echo "make lint   ruff check + ruff format --check"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

demo: venv
	$(BIN)/siklus quickstart --workspace ./siklus-quickstart --fresh

# PostgreSQL: a SIKLUS_TEST_POSTGRES_URL already in the environment wins; otherwise
# scripts/start-postgres.sh (best effort, never fails) starts a local server and writes
# its URL to $(POSTGRES_URL_FILE). Without one, the PostgreSQL tests are skipped.
test: venv
	@bash scripts/ensure-redis.sh || true
	@bash scripts/ensure-chromium.sh || true
	@if [ -z "$${SIKLUS_TEST_POSTGRES_URL:-}" ]; then bash scripts/start-postgres.sh || true; fi
	@if [ -z "$${SIKLUS_TEST_POSTGRES_URL:-}" ] && [ -s $(POSTGRES_URL_FILE) ]; then \
		SIKLUS_TEST_POSTGRES_URL="$$(cat $(POSTGRES_URL_FILE))"; \
		export SIKLUS_TEST_POSTGRES_URL; \
	fi; \
	echo "$(BIN)/pytest $(PYTEST_ARGS)"; \
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
