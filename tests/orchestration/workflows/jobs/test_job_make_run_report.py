"""The first report a newcomer reads (`make run`'s question, offline provider, the three packages'
documentation) covers what was asked: each system the question names gets its own cited evidence."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.support.jobs import running_jobs, spec

QUESTION = "How do Temporal, LangGraph and Chroma make long-running AI research jobs durable?"
SYSTEMS = {"Temporal": "temporalio", "LangGraph": "langgraph", "Chroma": "chromadb"}
pytestmark = pytest.mark.slow


async def test_each_named_system_gets_its_own_cited_evidence(temporal_client: Client, tmp_path: Path) -> None:
    job = spec(
        question=QUESTION, corpus=["pkgdocs:temporalio,langgraph,chromadb"], model={"provider": "extractive"},
        validation_rounds=0, collection="make-run-docs",
    )  # fmt: skip
    # An own collection: in-memory collections are shared by name across the test process, and
    # another test's corpus in the default one would outrank Chroma's documentation.
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(job)
        result = await asyncio.wait_for(handle.result(), 240)

    assert result.status == "completed" and result.report is not None
    asked = [t.ref.question for t in result.subtasks]
    assert asked == [f"How does {name} make long-running AI research jobs durable?" for name in SYSTEMS]
    report = jobs.artifacts.get_text(result.report.key)
    references = report.split("## References", 1)[-1]
    for name, package in SYSTEMS.items():
        assert f"pkgdocs:{package}" in references, f"the report cites nothing from {package} ({name})"
