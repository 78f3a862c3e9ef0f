# O2C: `make run` sets everything up and serves the demo; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export O2C_DATABASE_URL ?= sqlite:///o2c.sqlite3

.PHONY: install run test lint typecheck unit test-sqlite test-postgres bench bench-cash bench-reporting bench-dunning bench-credit messages clean

install: $(STAMP) src/o2c/static/vendor/htmx.min.js messages

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Front-end assets come from the npm registry at a pinned version and are served locally.
src/o2c/static/vendor/htmx.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p src/o2c/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js src/o2c/static/vendor/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css src/o2c/static/vendor/pico.min.css

messages: $(STAMP)
	cd src/o2c && ../../$(BIN)/o2c compilemessages -v 0 --ignore=.venv

run: install
	$(BIN)/o2c migrate -v 0
	$(BIN)/o2c demo --if-empty
	$(BIN)/o2c runserver 127.0.0.1:8000

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	O2C_DATABASE_URL=sqlite:///:memory: $(BIN)/o2c makemigrations --check --dry-run -v 0

typecheck: $(STAMP)
	$(BIN)/mypy src

test-sqlite: install
	O2C_DATABASE_URL=sqlite:///o2c-test.sqlite3 $(BIN)/pytest -q -p no:randomly -n 2

test-postgres: install
	scripts/with-postgres $(BIN)/pytest -q -n 2

test: install lint typecheck
	scripts/ensure-system-packages
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

# The benchmarks' server: a quarter of the database size in shared buffers is the usual starting point;
# 2 GB of this machine's 24 GB holds the cash bench's working set (docs/benchmarks.md).
BENCH_PG_SERVER_OPTIONS ?= -c shared_buffers=2GB -c max_wal_size=4GB

bench: install
	scripts/ensure-system-packages
	O2C_PG_SERVER_OPTIONS="$(BENCH_PG_SERVER_OPTIONS)" scripts/with-postgres $(BIN)/python -m bench.run

bench-cash: install
	scripts/ensure-system-packages
	O2C_PG_SERVER_OPTIONS="$(BENCH_PG_SERVER_OPTIONS)" scripts/with-postgres $(BIN)/python -m bench.cash $(BENCH_CASH_ARGS)

bench-reporting: install
	scripts/ensure-system-packages
	O2C_PG_SERVER_OPTIONS="$(BENCH_PG_SERVER_OPTIONS)" scripts/with-postgres $(BIN)/python -m bench.reporting $(BENCH_REPORTING_ARGS)
	$(BIN)/python -m bench.reporting --sqlite

bench-dunning: install
	scripts/ensure-system-packages
	O2C_PG_SERVER_OPTIONS="$(BENCH_PG_SERVER_OPTIONS)" scripts/with-postgres $(BIN)/python -m bench.dunning $(BENCH_DUNNING_ARGS)

bench-credit: install
	scripts/ensure-system-packages
	O2C_PG_SERVER_OPTIONS="$(BENCH_PG_SERVER_OPTIONS)" scripts/with-postgres $(BIN)/python -m bench.credit $(BENCH_CREDIT_ARGS)

clean:
	rm -rf $(VENV) node_modules src/o2c/static/vendor
