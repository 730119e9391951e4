# `make demo` sets up what the demo needs and runs the main job; `make test` also installs what
# only the tests need (dev tools; Debian packages for synthesis and the browser test) and runs them.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON3 ?= python3

.DEFAULT_GOAL := help
.PHONY: help setup setup-demo demo test lint format bench lock

help:
	@echo "make demo    set up what the demo needs (virtualenv, package) and run the main job"
	@echo "make test    also install the test tools and Debian packages; lint, type-check, test"
	@echo "make bench   also install MLflow (the tracing yardstick); run the benchmarks (JSON out)"
	@echo "make format  format the code with ruff"
	@echo "make lock    re-pin constraints.txt to the newest versions the dependencies allow"

setup-demo: $(VENV)/.voicejudge-demo

setup: $(VENV)/.voicejudge-test

$(VENV)/.voicejudge-demo: pyproject.toml constraints.txt scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh demo

$(VENV)/.voicejudge-test: pyproject.toml constraints.txt scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh test

$(VENV)/.voicejudge-bench: pyproject.toml constraints.txt scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh bench

demo: setup-demo
	$(BIN)/voicejudge doctor
	$(BIN)/voicejudge demo

test: setup lint
	$(BIN)/python -m pytest -q -n auto --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.voicejudge-bench
	$(BIN)/python scripts/bench_tracing.py
	$(BIN)/python scripts/bench_audio.py
	$(BIN)/python scripts/bench_judge.py
	$(BIN)/python scripts/bench_app.py
	$(BIN)/python scripts/bench_alignment.py
	$(BIN)/python scripts/bench_listeners.py --data tests/data/codec-mushra

# Re-pin constraints.txt to what a fresh test setup resolves today (needs the package index).
lock:
	rm -rf $(VENV)-lock
	$(PYTHON3) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	{ sed -n 1,2p constraints.txt; $(VENV)-lock/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(VENV)-lock
