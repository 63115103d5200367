"""researcher@1 with the fake model: cited finding, and the bounded self-check loop."""

from __future__ import annotations

from reasoning import (
    FakeChatModel,
    Finding,
    GraphContext,
    ResearchInput,
    Subtask,
    default_registry,
    read_call_log,
    run_graph,
)
from tests.reasoning.corpus import KeywordRetriever

SUBTASK = Subtask(id="s1", kind="research", question="How does a checkpointer resume a graph?")


def test_finding_cites_retrieved_chunks(fake_ctx: GraphContext) -> None:
    result = run_graph(default_registry.get("researcher@1"), ResearchInput(subtask=SUBTASK), context=fake_ctx)
    finding = Finding.model_validate(result.output)
    assert result.nodes_run == ["retrieve", "read", "draft", "check", "finalize"]
    evidence_ids = {e.chunk_id for e in finding.evidence}
    assert finding.claims and finding.citations
    assert all(set(c.citations) <= evidence_ids and c.citations for c in finding.claims)
    assert {c.chunk_id for c in finding.citations} <= evidence_ids
    assert finding.citations[0].source == "langgraph.md"  # the keyword retriever's best match
    assert finding.subtask_id == "s1" and finding.provider == "fake"


def test_failed_check_loops_back_to_draft_until_the_bound(tmp_path) -> None:
    log = tmp_path / "calls.jsonl"
    # The fake's check fails until round 3; max_rounds=2 must stop the loop at round 2.
    model = FakeChatModel(call_log=log, check_rounds=3)
    ctx = GraphContext(retriever=KeywordRetriever(), model=model, params={"max_rounds": 2})
    result = run_graph(default_registry.get("researcher@1"), ResearchInput(subtask=SUBTASK), context=ctx)
    assert result.nodes_run == ["retrieve", "read", "draft", "check", "draft", "check", "finalize"]
    assert [c["node"] for c in read_call_log(log)] == ["read", "draft", "check", "draft", "check"]

    ctx.params["max_rounds"] = 5  # passes at round 3 now
    result = run_graph(default_registry.get("researcher@1"), ResearchInput(subtask=SUBTASK), context=ctx)
    assert result.nodes_run.count("draft") == 3
