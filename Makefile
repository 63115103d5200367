# The two commands of the README. Each bootstraps .venv from nothing (scripts/bootstrap.sh).
.PHONY: run test lint lock bench clean

VENV := .venv
BIN := $(VENV)/bin
TEST_EXTRAS := dev,notebooks,experiments,postgres

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
