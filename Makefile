# `make demo` sets everything up and runs the main job; `make test` runs the test suite.
VENV ?= .venv
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint format bench

help:
	@echo "make demo    set up everything (virtualenv, packages) and run the main job"
	@echo "make test    lint and run the test suite"
	@echo "make bench   run the benchmarks (JSON on stdout)"
	@echo "make format  format the code with ruff"

setup: $(VENV)/.voicejudge-installed

$(VENV)/.voicejudge-installed: pyproject.toml scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh

demo: setup
	$(BIN)/voicejudge doctor
	$(BIN)/voicejudge demo

test: setup lint
	$(BIN)/python -m pytest -q -n auto --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python scripts/bench_tracing.py
	$(BIN)/python scripts/bench_audio.py
	$(BIN)/python scripts/bench_judge.py
	$(BIN)/python scripts/bench_app.py
	$(BIN)/python scripts/bench_alignment.py
	$(BIN)/python scripts/bench_listeners.py --train tests/data/codec-mushra
