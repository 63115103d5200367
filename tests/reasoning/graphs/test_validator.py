"""validator@1 with the fake model: judged claims, uncited claims flagged without a model call."""

from __future__ import annotations

from reasoning import (
    Citation,
    Claim,
    Evidence,
    Finding,
    GraphContext,
    ValidatorInput,
    ValidatorOutput,
    default_registry,
    run_graph,
)

EVIDENCE = Evidence(chunk_id="c1", source="a.md", text="Chroma stores embeddings.")


def _finding(subtask_id: str, claims: list[Claim]) -> Finding:
    return Finding(
        subtask_id=subtask_id,
        question="q",
        answer="a",
        claims=claims,
        citations=[Citation(chunk_id="c1", source="a.md")],
        evidence=[EVIDENCE],
    )


def test_verdicts_and_unsupported_subtasks(fake_ctx: GraphContext) -> None:
    findings = [
        _finding("good", [Claim(text="Chroma stores embeddings.", citations=["c1"])]),
        _finding("bad", [Claim(text="Chroma bakes bread.", citations=[])]),
        _finding("ghost", [Claim(text="Cites a chunk nobody saw.", citations=["c404"])]),
    ]
    result = run_graph(default_registry.get("validator@1"), ValidatorInput(findings=findings), context=fake_ctx)
    out = ValidatorOutput.model_validate(result.output)
    by_subtask = {v.subtask_id: v for v in out.verdicts}
    assert by_subtask["good"].supported and by_subtask["good"].reason.startswith("fake judge")
    assert not by_subtask["bad"].supported and "cites no evidence" in by_subtask["bad"].reason
    assert not by_subtask["ghost"].supported
    assert out.unsupported_subtasks == ["bad", "ghost"]
    assert result.model_calls == 1  # one batched judgement for the one judgeable claim


def test_nothing_to_judge_needs_no_model(fake_ctx: GraphContext) -> None:
    result = run_graph(default_registry.get("validator"), ValidatorInput(findings=[]), context=fake_ctx)
    assert result.output == {"verdicts": [], "unsupported_subtasks": []}
    assert result.model_calls == 0
