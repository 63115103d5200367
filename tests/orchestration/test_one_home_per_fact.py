"""Each fact the issue tracker found written several times has one definition now.

Where the import rules forbid a shared definition (reasoning may not import
orchestration), the two must agree; elsewhere the fact's text appears in one module only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from orchestration.shared.messages import FINAL_PHASES, Phase
from orchestration.shared.spec import PROVIDERS, parse_subtask_activity_id, subtask_activity_id
from reasoning.errors import is_retryable_status
from reasoning.models import Provider

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("orchestration", "reasoning", "retrieval")


def _sources() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
    }


@pytest.mark.parametrize(
    ("fact", "pattern", "home"),
    [
        (
            "the final phases",
            r'"completed",\s*"rejected",\s*"failed",\s*"cancelled"',
            "orchestration/shared/messages.py",
        ),
        ("the provider names", r'Literal\["extractive",\s*"openai",\s*"fake"\]', None),
        ("the retryable HTTP statuses", r"\b408\b", "reasoning/errors.py"),
        ("the reports collection suffix", r'"-reports"', "orchestration/shared/spec.py"),
        ("the subtask activity id", r'f"subtask/', "orchestration/shared/spec.py"),
        ("the artifacts folder", r'/ "artifacts"', "orchestration/artifacts.py"),
        ("the chunker", r"RecursiveCharacterTextSplitter\(", "retrieval/ingest.py"),
        ("the collection-name rule", r"510\}", "retrieval/protocol.py"),
    ],
)
def test_fact_is_written_once(fact: str, pattern: str, home: str | None) -> None:
    where = sorted(path for path, text in _sources().items() if re.search(pattern, text))
    if home is None:  # the provider literal: once on each side of the import boundary
        assert where == ["orchestration/shared/spec.py", "reasoning/models/settings.py"], (fact, where)
    else:
        assert where == [home], (fact, where)


def test_provider_names_agree_across_the_boundary() -> None:
    assert get_args(Provider) == PROVIDERS


def test_final_phases_are_phases() -> None:
    assert set(FINAL_PHASES) <= set(get_args(Phase))


def test_activity_id_round_trips() -> None:
    assert parse_subtask_activity_id(subtask_activity_id("s-1", 2)) == ("s-1", 2)
    assert parse_subtask_activity_id("reasoning.plan") is None


@pytest.mark.parametrize(("status", "retryable"), [(408, True), (409, True), (429, True), (503, True), (400, False)])
def test_one_retryable_status_table(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable
