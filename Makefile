# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install lint soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'

demo: install
	./scripts/system-deps.sh
	$(BIN)/afterlaunch demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	./scripts/system-deps.sh test
	npm install --prefix tests/flags/flagd --no-package-lock --no-audit --no-fund --silent
	$(BIN)/pytest

# Soak with faults on PostgreSQL (not part of `make test`): MINUTES=2 make soak for a short run.
MINUTES ?= 10
soak: install
	$(BIN)/python bench/soak.py --minutes $(MINUTES)
