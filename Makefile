# Two commands on a fresh machine (Python 3.11 + make): `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint ui sandbox bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Install, start the sandboxes, pull through Dagster, build the mart, print the funnel.
demo: $(STAMP)
	$(BIN)/hub demo

## Install and run the tests (PostgreSQL tests run when HUB_TEST_POSTGRES_URL is set), in TEST_WORKERS processes
## (pytest-xdist; most of the slow flows wait on sandboxes over loopback, so more workers than cores pay; a file's
## tests stay on one worker, which keeps each module's fixtures built once). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 4
test: $(STAMP)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15

## ruff, mypy and the layer contracts (import-linter: imports only point down; connectors independent).
lint: $(STAMP)
	$(BIN)/ruff check app hub couplings connectors assets schedules definitions.py tests bench
	$(BIN)/mypy app hub couplings connectors assets schedules definitions.py
	$(BIN)/lint-imports

## Sandboxes on loopback plus the Dagster UI on http://127.0.0.1:3000, or PORT (`make ui PORT=3001`); Ctrl-C stops both.
PORT ?= 3000
ui: $(STAMP)
	$(BIN)/hub ui --port $(PORT)

sandbox: $(STAMP)
	$(BIN)/hub sandbox

bench: $(STAMP)
	$(BIN)/python bench/pull_econobis.py
	$(BIN)/python bench/sync_econobis.py
	$(BIN)/python bench/receiver.py
	$(BIN)/python bench/sensor_ticks.py
	$(BIN)/python bench/guard_cost.py
	$(BIN)/python bench/premiums.py
	$(BIN)/python bench/identity.py
	$(BIN)/python bench/residents_splink.py

clean:
	rm -rf .hub
