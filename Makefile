# Two commands on a fresh clone: `make up` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JS := tests/js
JS_STAMP := $(JS)/node_modules/.installed

.PHONY: install js up test lint typecheck imports unit system bench bench-quick bench-console bench-whatif schema clean browser-deps browser

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The JavaScript checks (AsyncAPI parser, the official NATS client) run from pytest with Node 20.
$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

js: $(JS_STAMP)

up: install
	$(BIN)/lantern up --demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

# The console's browser tests drive Debian's chromium (never Playwright's own downloads).
browser-deps:
	@[ -x /usr/bin/chromium ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

browser: install browser-deps
	$(BIN)/pytest -m browser

# Fast tiers first: a red domain or application test stops the run in seconds.
test: lint typecheck imports browser-deps js
	$(BIN)/pytest -m "not system and not browser and not faults"
	$(BIN)/pytest -m "system and not faults and not browser"
	$(BIN)/pytest -m "faults and not browser"
	$(BIN)/pytest -m "browser"

schema: install
	$(BIN)/lantern schema --out events/schemas

# The suite beside the raw layers (about 7.5 minutes here; `bench-quick` about 2), into bench/results.
bench: install
	$(BIN)/lantern bench --out bench/results

bench-quick: install
	$(BIN)/lantern bench --quick --out bench/results/quick

# The console's figures in Debian's Chromium, and what-if's replay rate (separate: minutes each).
bench-console: install browser-deps
	$(BIN)/python bench/console.py

bench-whatif: install
	$(BIN)/python bench/whatif.py

clean:
	rm -rf $(VENV) .lantern .mypy_cache .pytest_cache .ruff_cache $(JS)/node_modules
