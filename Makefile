# The only entry points. `make run` and `make test` work on a fresh Debian 12 machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config/default.toml
PYTEST_ARGS ?=
WEB    := web
NPM_INSTALLED := $(WEB)/node_modules/.installed
# Browser bundles: JsSIP and a page's script in one file each (built, never committed).
BUNDLES := $(WEB)/build/registration_page.js $(WEB)/build/call_page.js
# The web phone the API listener serves at /phone: its page, style and bundled script.
PHONE  := $(WEB)/build/phone
PHONE_FILES := $(PHONE)/index.html $(PHONE)/phone.css $(PHONE)/phone.js

# asyncio's debug mode stays off: Python turns it on for ANY non-empty PYTHONASYNCIODEBUG,
# "0" included, and it slows every callback (the benchmarks and load tests most of all).
unexport PYTHONASYNCIODEBUG

.PHONY: run install system-packages web lint types test test-unit bench load fmt clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Debian packages the test suite and benchmarks drive (SIPp, Kamailio, rtpengine, Chromium, ...).
system-packages:
	tools/install-system-packages

# npm packages, exactly as package-lock.json pins them: JsSIP, esbuild, playwright-core (which
# drives Debian's Chromium and downloads no browser of its own).
$(NPM_INSTALLED): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $@

$(WEB)/build/%.js: tests/interop/browser/%.js tests/interop/browser/spectrum.js $(NPM_INSTALLED)
	NODE_PATH=$(WEB)/node_modules $(WEB)/node_modules/.bin/esbuild $< --bundle --format=iife \
		--target=chrome120 --log-level=warning --outfile=$@

$(PHONE)/phone.js: $(wildcard $(WEB)/phone/*.js) $(NPM_INSTALLED)
	NODE_PATH=$(WEB)/node_modules $(WEB)/node_modules/.bin/esbuild $(WEB)/phone/phone.js --bundle \
		--format=iife --target=chrome120,firefox115,safari16 --log-level=warning --outfile=$@

$(PHONE)/%: $(WEB)/phone/%
	@mkdir -p $(PHONE)
	cp $< $@

web: $(BUNDLES) $(PHONE_FILES)

run: install web
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

test: system-packages install web lint types
	$(BIN)/pytest $(PYTEST_ARGS)

bench: system-packages install
	$(BIN)/python -m tools.bench $(BENCH)

load: system-packages install
	$(BIN)/python -m tools.load $(LOAD)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache $(WEB)/node_modules $(WEB)/build
