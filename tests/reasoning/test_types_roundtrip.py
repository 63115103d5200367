"""Graph inputs and outputs survive Temporal's pydantic data converter unchanged."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from temporalio.contrib.pydantic import pydantic_data_converter

from reasoning import (
    Citation,
    Claim,
    Evidence,
    Finding,
    PlannerInput,
    PlannerOutput,
    ResearchInput,
    Subtask,
    ValidatorInput,
    ValidatorOutput,
    Verdict,
    WriterInput,
    WriterOutput,
)

SUBTASK = Subtask(id="s1", kind="research", question="Why? «ünïcode»")
FINDING = Finding(
    subtask_id="s1",
    question="q",
    answer="a [1]",
    claims=[Claim(text="t", citations=["c1"])],
    citations=[Citation(chunk_id="c1", source="a.md", quote="t")],
    evidence=[Evidence(chunk_id="c1", source="a.md", title="A", text="t", score=0.5)],
    provider="fake",
)
VALUES: list[BaseModel] = [
    PlannerInput(question="q"),
    PlannerOutput(subtasks=[SUBTASK]),
    ResearchInput(subtask=SUBTASK, notes="n"),
    FINDING,
    ValidatorInput(findings=[FINDING]),
    ValidatorOutput(
        verdicts=[Verdict(subtask_id="s1", claim="t", supported=False, reason="r")],
        unsupported_subtasks=["s1"],
    ),
    WriterInput(question="q", findings=[FINDING], notes="shorter"),
    WriterOutput(title="T", markdown="# T\n", references=FINDING.citations),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_round_trip(value: BaseModel) -> None:
    converter = pydantic_data_converter.payload_converter
    payload = converter.to_payloads([value])
    (back,) = converter.from_payloads(payload, [type(value)])
    assert back == value and type(back) is type(value)


def test_defaults_let_old_payloads_decode() -> None:
    assert PlannerInput.model_validate({"question": "q"}).kinds == ["research"]
    old = FINDING.model_dump(exclude={"evidence", "provider"})
    assert Finding.model_validate(old).evidence == []
