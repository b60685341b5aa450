# The only entry points. `make run` and `make test` work on a fresh Debian 12 machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config/default.toml
PYTEST_ARGS ?=

# asyncio's debug mode stays off: Python turns it on for ANY non-empty PYTHONASYNCIODEBUG,
# "0" included, and it slows every callback (the benchmarks and load tests most of all).
unexport PYTHONASYNCIODEBUG

.PHONY: run install system-packages lint types test test-unit bench load fmt clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Debian packages the test suite and benchmarks drive (SIPp, Kamailio, rtpengine, ...).
system-packages:
	tools/install-system-packages

run: install
	$(BIN)/mediaserver run --config $(CONFIG)

fmt: install
	$(BIN)/ruff format mediaserver codecs tests tools
	$(BIN)/ruff check --fix mediaserver codecs tests tools

lint: install
	$(BIN)/ruff check mediaserver codecs tests tools
	$(BIN)/lint-imports

types: install
	$(BIN)/mypy

# Fast feedback: pure layers only, no third-party peers.
test-unit: install
	$(BIN)/pytest -m "not interop" $(PYTEST_ARGS)

test: system-packages install lint types
	$(BIN)/pytest $(PYTEST_ARGS)

bench: system-packages install
	$(BIN)/python -m tools.bench $(BENCH)

load: system-packages install
	$(BIN)/python -m tools.load $(LOAD)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
