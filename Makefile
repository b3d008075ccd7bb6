# Comps: every command a newcomer needs. `make run` to try it, `make test` to check it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
WEB_PORT ?= 8000
FOURVENUES_SANDBOX_PORT ?= 8765
export FOURVENUES_SANDBOX_PORT
MAIL_PORT ?= 1025
export MAIL_PORT
# supervisord's socket and pid file, while `make run` runs.
RUN_DIR := $(CURDIR)/.run

# The demo that `make run` starts: production settings (the product's own error pages, never
# Django's debug page), over plain HTTP on this computer, with fixed demo-only keys. The
# encryption key is the one the development SECRET_KEY derives, so earlier demo data still opens.
DEMO_ENV := DEBUG=0 SECRET_KEY=django-insecure-comps-development-only-never-use-in-production \
	FIELD_ENCRYPTION_KEYS=e0Fg5CKUXrsQOlh8Vg6Kw2U2zgmwzjsZERhzfJo6YXs= \
	SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0 \
	COMPS_MAILBOX_DIR=.mailbox EMAIL_URL=smtp://127.0.0.1:$(MAIL_PORT) \
	COMPS_PUBLIC_URL=http://127.0.0.1:$(WEB_PORT) LOG_FORMAT=plain COMPS_REQUIRE_TWO_FACTOR=0
DEMO_STATE := db.sqlite3 db.sqlite3-wal db.sqlite3-shm .sandbox-state.json .mailbox

# Fixed, test-only values: the suite must not depend on a developer's .env.
TEST_ENV := SECRET_KEY=test-only-secret-key \
	FIELD_ENCRYPTION_KEYS=dGVzdC1vbmx5LWZlcm5ldC1rZXktMzItYnl0ZXMhISE= \
	DEBUG=0 SECURE_SSL_REDIRECT=0 DJANGO_ALLOW_ASYNC_UNSAFE=true

.PHONY: help install run status reset-demo test lint format messages bench-issue bench-issue-wall bench-export bench-search bench-reconcile bench-deliver bench-scale bench-load clean

help:
	@echo "make run     set everything up and start Comps with the sandbox and a worker"
	@echo "make status  which of make run's processes are running (a dead one is restarted)"
	@echo "make reset-demo  forget the demo's data (database and sandbox) so make run starts afresh"
	@echo "make test    set up and run the whole test suite (ARGS=... passes options to pytest)"
	@echo "make lint    ruff, formatting, architecture contracts and the migrations check"
	@echo "make format  format the code with ruff"
	@echo "make messages  extract the marked strings into locale/es/.../django.po and compile it"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -m pip install --quiet -e ".[dev]" 2>&1 | grep -v "is ignored\|BuildBackendWarning\|!!\|\*\*\*\|Please be careful\|name as your package\|WheelFile\|^ *$$" || true
	$(BIN)/python -c "import django, requests, pytest" # fail here, not later, if the install broke
	touch $(STAMP)

install: $(STAMP)

run: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py collectstatic --noinput -v 0
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo --sandbox-port $(FOURVENUES_SANDBOX_PORT)
	@echo
	@echo "  Comps is starting at http://127.0.0.1:$(WEB_PORT)/  (Ctrl-C stops everything)"
	@echo "  Fourvenues sandbox:  http://127.0.0.1:$(FOURVENUES_SANDBOX_PORT)/_sandbox/"
	@echo "  Training mailbox:    http://127.0.0.1:$(WEB_PORT)/training/mailbox/  (what guests were sent)"
	@echo
	@mkdir -p $(RUN_DIR)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(DEMO_ENV) WEB_PORT=$(WEB_PORT) RUN_DIR=$(RUN_DIR) \
		FOURVENUES_SANDBOX_STATE=.sandbox-state.json $(BIN)/supervisord -c supervisord.conf

# The processes `make run` started, from another terminal: running, restarted, or stopped.
status: install
	RUN_DIR=$(RUN_DIR) $(BIN)/supervisorctl -c supervisord.conf status

# Start the demo afresh: its database and the sandbox's tickets go together (Comps' records of
# tickets the sandbox no longer has would only show up as discrepancies). Stop `make run` first.
reset-demo:
	rm -rf $(DEMO_STATE)
	@echo "The demo's database, sandbox state and mailbox are gone: \`make run\` starts afresh."

test: install
	$(TEST_ENV) $(BIN)/pytest $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/python manage.py messages_check
	$(BIN)/hadolint Dockerfile
	@if command -v docker-compose >/dev/null; then \
		ALLOWED_HOSTS=comps.example COMPS_PUBLIC_URL=https://comps.example docker-compose config -q \
		&& echo "docker-compose.yml is valid"; \
	else echo "docker-compose.yml not checked: install docker-compose (Debian's package)"; fi

# The translations: extract what the code marks, then translate the new entries of
# locale/es/LC_MESSAGES/django.po and run this again to compile them (.mo, kept in git so that
# running and testing need no gettext). Needs GNU gettext (Debian: apt-get install gettext).
MESSAGES_IGNORE := --ignore '.venv/*' --ignore 'staticfiles/*' --ignore 'tests/*' \
	--ignore 'tickets/fourvenues/sandbox/*'
messages: install
	$(TEST_ENV) $(BIN)/python manage.py makemessages -l es --add-location file --no-obsolete $(MESSAGES_IGNORE)
	$(TEST_ENV) $(BIN)/python manage.py compilemessages -l es --ignore '.venv/*'

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

bench-deliver: install
	$(TEST_ENV) LOG_LEVEL=WARNING $(BIN)/python -m tests.bench.bench_deliver

# The stack scaled out on a scratch PostgreSQL database: two gunicorns, two workers, the scheduler.
bench-scale: install
	$(TEST_ENV) LOG_LEVEL=WARNING $(BIN)/python -m tests.bench.bench_scale

# 50 signed-in users against runserver, then gunicorn, on PostgreSQL with 1,000,000 tickets
# (seeded once into the database comps_bench_load, kept). ARGS=--seconds 15 for a short run.
bench-load: install
	$(TEST_ENV) LOG_LEVEL=WARNING $(BIN)/python -m tests.bench.bench_load $(ARGS)
