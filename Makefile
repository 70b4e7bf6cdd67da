# Two commands on a fresh Debian machine: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast lint lock schema system-deps node-deps clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Every Python package at the version and hashes in requirements.lock (`make lock` refreshes it), then the
# project itself, built with the locked setuptools: nothing on a new machine installs whatever is newest.
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/activate
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Re-resolve the newest versions allowed by pyproject.toml and record them with their hashes.
lock:
	$(PYTHON) -m venv $(VENV)-lock && $(VENV)-lock/bin/pip install --quiet pip-tools
	$(VENV)-lock/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
		--no-emit-find-links --extra test --extra dev -o requirements.lock pyproject.toml requirements-build.in

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
	$(BIN)/pytest -q --numprocesses auto --maxprocesses 4 --dist loadfile

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
