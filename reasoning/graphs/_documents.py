"""Helpers the batch graphs share: checking that a quote really is in its source text."""

from __future__ import annotations

from typing import Any


def flat(text: str) -> str:
    """Whitespace-normalised text, so a quote matches across line breaks."""
    return " ".join(str(text).split())


def is_quoted(quote: str, text: str) -> bool:
    """True when `quote` (minus a final full stop) appears verbatim in `text`."""
    needle = flat(quote).rstrip(".!? ")
    return bool(needle) and needle in flat(text)


def verified_claims(raw: Any, text: str, source: str) -> list[dict[str, str]]:
    """The model's claims whose quote is verbatim in `text`, each tagged with `source`; duplicates dropped."""
    out: dict[str, dict[str, str]] = {}
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        claim, quote = flat(item.get("text", "")), flat(item.get("quote", ""))
        if claim and is_quoted(quote, text):
            out.setdefault(quote, {"text": claim, "quote": quote, "source": str(item.get("source") or source)})
    return list(out.values())
