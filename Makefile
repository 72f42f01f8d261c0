# Two commands: `make lab` (set up and open the course) and `make test` (set up and test).
# Both create .venv from nothing with python3 -m venv + pip, and are fast once it exists.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8888
# pytest workers: the tests wait on kernels, browsers and subprocesses much of the time, so 3 on
# 2 cores finish sooner than 2 (measured: 6:45 against 7:34 for all but the cluster tests)
JOBS ?= 3
# nbgrader calls the `alembic` executable: the environment's bin/ must be on PATH.
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0

.PHONY: lab test install lint format release execute check-release bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	JUPYTER_CONFIG_PATH=$(CURDIR)/grader $(BIN)/jupyter lab --port=$(PORT) --ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m grader release --check
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope --ignore tests/test_cluster.py --durations=25
	# the Dask cluster tests start their own scheduler and workers: run them on their own
	$(BIN)/python -m pytest tests/test_cluster.py --durations=10

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff check --fix .

# Build solutions/ from the text sources in sources/ and run them (fresh stored outputs);
# `make execute release` then regenerates notebooks/ (see docs/authoring.md).
execute: $(STAMP)
	$(BIN)/python -m grader execute

release: $(STAMP)
	$(BIN)/python -m grader release

check-release: $(STAMP)
	$(BIN)/python -m grader release --check

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
