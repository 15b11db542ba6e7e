# Commands that work on a fresh clone (each installs into .venv first if needed):
#   make demo    installs the core package only (the bundled study uses engine sklearn;
#                no torch), then runs the bundled study through the snaketune command
#   make test    installs torch==TORCH_VERSION (2.13.0), then the dev, torch and slurm extras, and
#                (as root on Debian) chromium for the report's browser tests; runs every
#                test, a worker per CPU (pytest-xdist)
#   make check   the install of test; runs the unit tests only (not e2e), in < 1 min
#   make cluster-test  the install of test; as root, starts a single-node SLURM (installs
#                its Debian packages if missing), runs the cluster tests, stops it
#   make lint    the install of test; runs ruff check, ruff format --check,
#                snakefmt --check and snakemake --lint
# The two install levels (core, test) have stamp files in the venv, independent of each
# other; each runs again when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORE_STAMP := $(VENV)/.installed-core
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test check lint cluster-test

# torch is pinned before the [torch] extra so that pip never picks a newer (CUDA) build.
TORCH_VERSION ?= 2.13.0

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(CORE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install --quiet -e '.[dev,torch,slurm]'
	touch $@

demo: $(CORE_STAMP)
	$(BIN)/snaketune hyperopt --dataset data/titles.csv --config config/examples/titles.yaml

# One worker per CPU, each test file on one worker (a file's shared studies run once).
test: $(TEST_STAMP)
	tests/browser/install-chromium.sh
	$(BIN)/python -m pytest -q -n auto --dist loadfile -m "not cluster"

# Root (it installs Debian's SLURM packages if missing): start a single-node SLURM on
# loopback, submit the cluster tests' studies through each profile, stop it again.
cluster-test: $(TEST_STAMP)
	tests/cluster/start-slurm.sh
	$(BIN)/python -m pytest -q -m cluster; status=$$?; tests/cluster/stop-slurm.sh; exit $$status

check: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -m "not e2e"

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint
