# Two commands a new user needs: `make run` (the app) and `make test` (the whole suite).
# Each creates .venv on first use. `make dist` builds the installable app (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test clean

$(BIN)/histoclass: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

run: $(BIN)/histoclass
	$(BIN)/histoclass

test: $(BIN)/histoclass
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

clean:
	rm -rf build dist .pytest_cache
