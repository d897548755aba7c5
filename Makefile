# Two entry points: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOME := $(CURDIR)/.trainaction-demo

.PHONY: demo test test-fast lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.example-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[example]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Runs the digits example's jobs on a fresh embedded backend in $(DEMO_HOME).
demo: $(VENV)/.example-installed
	rm -rf $(DEMO_HOME)
	export TRAINACTION_HOME=$(DEMO_HOME) && \
	$(BIN)/python examples/digits/prepare_data.py $(DEMO_HOME)/data/digits && \
	$(BIN)/trainaction dataset add $(DEMO_HOME)/data/digits --name digits && \
	$(BIN)/trainaction run examples/digits/jobs/simple_training.json --plugin examples/digits && \
	$(BIN)/trainaction run examples/digits/jobs/resume_from_checkpoint.json --plugin examples/digits && \
	$(BIN)/trainaction run examples/digits/jobs/named_training.json --plugin examples/digits && \
	$(BIN)/trainaction run examples/digits/jobs/basic_tuning.json --plugin examples/digits && \
	$(BIN)/trainaction trials 4 && \
	$(BIN)/trainaction jobs list && \
	$(BIN)/trainaction models list
	@echo
	@echo "Results are in $(DEMO_HOME) (SQLite database trainaction.db, models/, files/)."
	@echo "Explore them with: TRAINACTION_HOME=$(DEMO_HOME) $(BIN)/trainaction jobs show 1"

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks
	$(BIN)/mypy src/trainaction

test: lint
	$(BIN)/pytest

# Leaves out the tests marked slow (Ray, real jobs, CLI subprocesses): for the edit-test loop.
test-fast: $(VENV)/.test-installed
	$(BIN)/pytest -m "not slow"

clean:
	rm -rf $(VENV) $(DEMO_HOME)
