# Muaina: `make run` serves the app with an embedded database; `make test` runs the whole suite.
# Everything is installed into .venv by these targets; nothing needs to be set up by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The stamp files carry a hash of pyproject.toml, so editing dependencies reinstalls them.
DEPS   := $(shell cat pyproject.toml 2>/dev/null | sha256sum | cut -c1-12)
APP    := $(VENV)/.app-$(DEPS)
DEV    := $(VENV)/.dev-$(DEPS)

.PHONY: run test bench lint format migrate soak fuzz clean install

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(APP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(DEV): pyproject.toml $(APP)
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(APP)

## run: migrate, load the demo once, and serve on http://127.0.0.1:8000 (Ctrl-C stops it)
run: $(APP)
	$(BIN)/muaina serve --demo

## migrate: apply pending database migrations
migrate: $(APP)
	$(BIN)/muaina migrate

## test: the whole suite (unit, integration, browser); CI=true turns a missing browser into a failure
## It runs in TEST_WORKERS processes (default: the CPUs, at most 4), whole test files to a process,
## each with its own PostgreSQL, S3 server and Chromium; TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
## The sources are compiled first: the suite starts the server and the command line a few hundred
## times, and where PYTHONDONTWRITEBYTECODE is set each start would otherwise compile them again. The
## suite runs with it unset, so that pytest keeps the test modules it rewrote for the next run (7 s of
## each process).
test: $(DEV)
	$(BIN)/python -m compileall -q server tests
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

## bench: performance ratios against baselines measured in the same run
bench: $(DEV)
	$(BIN)/python tests/benchmarks/run_all.py

## soak / fuzz: the long forms of the crash and API-fuzz tests
soak: $(DEV)
	MUAINA_SOAK=1 $(BIN)/pytest tests/reliability -m slow -q

fuzz: $(DEV)
	MUAINA_FUZZ=1 $(BIN)/pytest tests/security/test_fuzz.py -q -s

lint: $(DEV)
	$(BIN)/ruff check server tests
	$(BIN)/ruff format --check server tests

format: $(DEV)
	$(BIN)/ruff check --fix server tests
	$(BIN)/ruff format server tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
