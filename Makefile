# The two commands of the README: `make reproduce` and `make test`.
# Both build .venv/ from the committed lock file first; the stamp file makes that a no-op when nothing changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# DVC stages call `mlsizes`; put the project's environment first on PATH so they use it.
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1
export MPLBACKEND := Agg

.PHONY: venv reproduce test lint bench clean-venv

venv: $(STAMP)

# pip prints every package it collects and installs (about 130, a few minutes the first time), so a long
# install is visibly progressing.
$(STAMP): requirements.lock pyproject.toml
	@echo "== setting up $(VENV)/ from requirements.lock (first time: a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check --no-deps -e .
	touch $(STAMP)
	@echo "== $(VENV)/ ready"

reproduce: $(STAMP)
	$(BIN)/dvc repro
	@echo "== done. To use mlsizes and dvc in this shell: source $(VENV)/bin/activate"

# Two workers (pytest-xdist), each test file on one of them so module fixtures (a built clone) are made once; the
# tests a file shares no costly fixture with may go to the other worker, and the longest units start first
# (tests/conftest.py: SEPARATE, SLOW_UNITS). --print-files names each file as it starts, with its worker. Lint and
# format check first (seconds), then the suite.
test: lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --print-files

# Ruff's linter and formatter (settings in pyproject.toml [tool.ruff]); checks only, changes no file.
lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Every figure as a whole process next to its floor (bench/harness.py, BENCHMARKS.md), then curate at 1,000,000
# rows again beside two busy loops (a shared machine), then the statistics core in-process. About 8 minutes (the
# first run also writes the 2 GB synthetic file, made once into ~/.cache/mlsizes-bench); QUICK=1 skips the
# 1,000,000-row file.
bench: $(STAMP)
	$(BIN)/python bench/harness.py $(if $(QUICK),--quick)
	$(if $(QUICK),,$(BIN)/python bench/harness.py --only "1,000,000" --busy 2)
	$(BIN)/python bench/bench_stats.py

clean-venv:
	rm -rf $(VENV)
