# Two commands on a fresh Debian machine: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast lint schema system-deps node-deps clean

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

# the interop suite's stock clients (Apollo Client, graphql-ws), pinned by tests/interop/js/package-lock.json
INTEROP_JS := tests/interop/js
node-deps:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		echo "installing Debian's nodejs and npm for the interop tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; \
	fi

$(INTEROP_JS)/node_modules/.package-lock.json: $(INTEROP_JS)/package-lock.json | node-deps
	cd $(INTEROP_JS) && npm ci --no-audit --no-fund --loglevel=error

test: $(VENV)/.installed system-deps $(INTEROP_JS)/node_modules/.package-lock.json
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
