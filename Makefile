# The two commands of the README. Each bootstraps .venv from nothing (scripts/bootstrap.sh).
.PHONY: run test lint lock bench clean notebook docs

VENV := .venv
BIN := $(VENV)/bin
TEST_EXTRAS := dev,notebooks,experiments,postgres,web,mcp,docs,traces

run:
	@scripts/bootstrap.sh
	$(BIN)/durable-research server start
	$(BIN)/durable-research doctor
	$(BIN)/durable-research run "How do Temporal, LangGraph and Chroma make long-running AI research jobs durable?" \
		--corpus pkgdocs:temporalio,langgraph,chromadb --model extractive --approve auto

test:
	@scripts/bootstrap.sh $(TEST_EXTRAS)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest

# JupyterLab on notebooks/, loopback only: `make notebook` (NOTEBOOK_PORT=8890 to use another port).
# allow_root: containers (and this repository's Dockerfile) run as root, where Jupyter refuses by default.
NOTEBOOK_PORT ?= 8888
NOTEBOOK_FLAGS ?=
notebook:
	@scripts/bootstrap.sh notebooks
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 --ServerApp.port=$(NOTEBOOK_PORT) \
		--ServerApp.port_retries=0 --ServerApp.allow_root=True $(NOTEBOOK_FLAGS)

# The documentation site on http://127.0.0.1:$(DOCS_PORT), rebuilt as docs/ or the code changes
# (the CLI and settings reference pages are generated from the code).
DOCS_PORT ?= 8000
docs:
	@scripts/bootstrap.sh docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:$(DOCS_PORT) --watch orchestration --watch reasoning --watch retrieval

lint:
	@scripts/bootstrap.sh $(TEST_EXTRAS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Re-pin constraints.txt from what the current venv resolved (after a pyproject change).
lock:
	$(BIN)/python -m pip freeze --exclude-editable --exclude durable-research > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
