"""writer@1 with the fake model: Markdown with [n] markers that map to a references list."""

from __future__ import annotations

import re

from reasoning import (
    Citation,
    Claim,
    Finding,
    GraphContext,
    WriterInput,
    WriterOutput,
    default_registry,
    run_graph,
)


def test_report_numbers_citations_and_lists_references(fake_ctx: GraphContext) -> None:
    findings = [
        Finding(
            subtask_id="s1",
            question="What is Temporal?",
            answer="a",
            claims=[Claim(text="Temporal is durable.", citations=["t1"])],
            citations=[Citation(chunk_id="t1", source="temporal.md", quote="durable")],
        ),
        Finding(
            subtask_id="s2",
            question="What is Chroma?",
            answer="b",
            claims=[Claim(text="Chroma stores vectors.", citations=["c1", "t1"])],
            citations=[
                Citation(chunk_id="c1", source="chroma.md"),
                Citation(chunk_id="t1", source="temporal.md"),
            ],
        ),
    ]
    result = run_graph(
        default_registry.get("writer@1"),
        WriterInput(question="Temporal and Chroma?", findings=findings),
        context=fake_ctx,
    )
    out = WriterOutput.model_validate(result.output)
    assert [r.source for r in out.references] == ["temporal.md", "chroma.md"]
    assert out.markdown.startswith(f"# {out.title}\n")
    assert "## What is Chroma?" in out.markdown and "## References" in out.markdown
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", out.markdown)}
    assert markers == {1, 2}
    assert "Chroma stores vectors. [2] [1]" in out.markdown
    assert result.nodes_run == ["number", "compose", "render"]
