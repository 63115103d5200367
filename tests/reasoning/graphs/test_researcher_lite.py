"""researcher-lite@1 with the fake model: two nodes, one model call, a cited finding."""

from __future__ import annotations

from reasoning import Finding, GraphContext, ResearchInput, Subtask, default_registry, run_graph


def test_two_nodes_one_call_cited_finding(fake_ctx: GraphContext) -> None:
    subtask = Subtask(id="s9", kind="research", question="What does Chroma store?")
    result = run_graph(default_registry.get("researcher-lite@1"), ResearchInput(subtask=subtask), context=fake_ctx)
    finding = Finding.model_validate(result.output)
    assert result.nodes_run == ["retrieve", "answer"] and result.model_calls == 1
    assert finding.citations and finding.citations[0].source == "chroma.md"
    assert all(c.citations for c in finding.claims)
