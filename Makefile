# Two commands that work on a fresh clone:
#   make demo   install into .venv if needed, then run the bundled study
#   make test   install (with dev tools) into .venv if needed, then run the tests
# Both install the torch engine too (torch 2.13.0, CPU).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint

# torch is pinned before the [torch] extra so that pip never picks a newer (CUDA) build.
TORCH_VERSION ?= 2.13.0

$(BIN)/snakemake: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install --quiet -e '.[dev,torch]'
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
