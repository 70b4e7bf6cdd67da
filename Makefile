# Two commands on a fresh Debian machine: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast lint schema system-deps clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e ".[test,dev]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/sessions-gql serve

system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1; then \
		echo "installing Debian's postgresql and redis-server for the tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql redis-server >/dev/null; \
	fi
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests (tests/browser)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

test: $(VENV)/.installed system-deps
	$(BIN)/pytest -q

test-fast: $(VENV)/.installed
	$(BIN)/pytest -q tests/unit

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests
	$(BIN)/mypy src

schema: $(VENV)/.installed
	$(BIN)/sessions-gql export-schema > schema.graphql
	$(BIN)/python ../shared/tools/contract_check.py schema.graphql

clean:
	rm -rf $(VENV) sessions_gql.sqlite3 sessions_gql.sqlite3-wal sessions_gql.sqlite3-shm
