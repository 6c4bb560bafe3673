# `make demo` and `make test` work on a fresh machine with Python 3.11: each creates .venv itself.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

demo: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/cnncalc show posenet --no-bias

# constraints.txt pins torch to the CPU build on this machine's disk; a looser pin pulls CUDA.
test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]' -c constraints.txt
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

format: $(BIN)/python
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
