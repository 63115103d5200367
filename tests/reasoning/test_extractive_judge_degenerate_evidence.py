"""The offline validator judges a claim even when its evidence has no splittable sentence
(a code block, whitespace), instead of failing the whole validate step."""

from __future__ import annotations

from reasoning.models.extractive import ExtractiveChatModel


def test_evidence_without_sentences_is_judged_not_crashed() -> None:
    model = ExtractiveChatModel()
    verdict = model._judge_one({"text": "Chroma stores embeddings.", "evidence": ["```\n\n```", "   "]})
    assert verdict["supported"] is False
    assert verdict["reason"]


def test_blank_claim_is_unsupported() -> None:
    verdict = ExtractiveChatModel()._judge_one({"text": "  ", "evidence": ["Some sentence here."]})
    assert verdict == {"supported": False, "reason": "No evidence sentence to compare the claim with."}
