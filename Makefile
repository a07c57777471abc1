# Two commands on a fresh clone: `make up` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install up test lint typecheck imports unit system bench schema clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

up: install
	$(BIN)/lantern up --demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

test: lint typecheck imports
	$(BIN)/pytest

schema: install
	$(BIN)/lantern schema --out events/schemas

bench: install
	$(BIN)/python bench/dispatch_latency.py
	$(BIN)/python bench/timers.py
	if [ -f bench/timeline.py ]; then $(BIN)/python bench/timeline.py; fi

clean:
	rm -rf $(VENV) .lantern .mypy_cache .pytest_cache .ruff_cache
