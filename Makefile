# Comps: every command a newcomer needs. `make run` to try it, `make test` to check it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
WEB_PORT ?= 8000
FOURVENUES_SANDBOX_PORT ?= 8765
export FOURVENUES_SANDBOX_PORT

# Fixed, test-only values: the suite must not depend on a developer's .env.
TEST_ENV := SECRET_KEY=test-only-secret-key \
	FIELD_ENCRYPTION_KEYS=dGVzdC1vbmx5LWZlcm5ldC1rZXktMzItYnl0ZXMhISE= \
	DEBUG=0 SECURE_SSL_REDIRECT=0 DJANGO_ALLOW_ASYNC_UNSAFE=true

.PHONY: help install run test lint format bench-issue bench-issue-wall bench-export bench-search bench-reconcile clean

help:
	@echo "make run     set everything up and start Comps with the sandbox and a worker"
	@echo "make test    set up and run the whole test suite (ARGS=... passes options to pytest)"
	@echo "make lint    ruff, formatting, architecture contracts and the migrations check"
	@echo "make format  format the code with ruff"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -m pip install --quiet -e ".[dev]" 2>&1 | grep -v "is ignored\|BuildBackendWarning\|!!\|\*\*\*\|Please be careful\|name as your package\|WheelFile\|^ *$$" || true
	$(BIN)/python -c "import django, requests, pytest" # fail here, not later, if the install broke
	touch $(STAMP)

install: $(STAMP)

run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo --sandbox-port $(FOURVENUES_SANDBOX_PORT)
	@echo
	@echo "  Comps is starting at http://127.0.0.1:$(WEB_PORT)/  (Ctrl-C stops everything)"
	@echo "  Fourvenues sandbox:  http://127.0.0.1:$(FOURVENUES_SANDBOX_PORT)/_sandbox/"
	@echo
	PATH="$(CURDIR)/$(BIN):$$PATH" DEBUG=1 WEB_PORT=$(WEB_PORT) $(BIN)/honcho start -f Procfile

test: install
	$(TEST_ENV) $(BIN)/pytest $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) staticfiles .ruff_cache

bench-issue: install
	$(TEST_ENV) LOG_LEVEL=WARNING $(BIN)/python -m tests.bench.bench_issue

bench-issue-wall: install
	$(TEST_ENV) LOG_LEVEL=WARNING $(BIN)/python -m tests.bench.bench_issue_wall

bench-export: install
	$(TEST_ENV) LOG_LEVEL=WARNING $(BIN)/python -m tests.bench.bench_export

bench-search: install
	$(TEST_ENV) LOG_LEVEL=WARNING $(BIN)/python -m tests.bench.bench_search

bench-reconcile: install
	$(TEST_ENV) LOG_LEVEL=WARNING $(BIN)/python -m tests.bench.bench_reconcile
