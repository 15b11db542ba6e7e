# Two commands that work on a fresh clone:
#   make demo   install into .venv if needed, then run the bundled study
#   make test   install (with dev tools) into .venv if needed, then run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint

$(BIN)/snakemake: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/snakemake
	$(BIN)/snakemake --cores 8

test: $(BIN)/snakemake
	$(BIN)/python -m pytest -q

lint: $(BIN)/snakemake
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint
