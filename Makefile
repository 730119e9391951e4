# `make demo` sets up what the demo needs and runs the main job; `make test` also installs what
# only the tests need (dev tools; Debian packages for synthesis and the browser test) and runs them.
VENV ?= .venv
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help setup setup-demo demo test lint format bench

help:
	@echo "make demo    set up what the demo needs (virtualenv, package) and run the main job"
	@echo "make test    also install the test tools and Debian packages; lint, type-check, test"
	@echo "make bench   run the benchmarks (JSON on stdout)"
	@echo "make format  format the code with ruff"

setup-demo: $(VENV)/.voicejudge-demo

setup: $(VENV)/.voicejudge-test

$(VENV)/.voicejudge-demo: pyproject.toml scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh demo

$(VENV)/.voicejudge-test: pyproject.toml scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh test

demo: setup-demo
	$(BIN)/voicejudge doctor
	$(BIN)/voicejudge demo

test: setup lint
	$(BIN)/python -m pytest -q -n auto --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

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
