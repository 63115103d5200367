"""What changed between two runs of a recurring job, as a Markdown section."""

from __future__ import annotations

import re


def _references(markdown: str) -> set[str]:
    tail = markdown.split("## References", 1)[1] if "## References" in markdown else ""
    return {line.strip("-* ").strip() for line in tail.splitlines() if line.strip().startswith(("-", "*"))}


def _sentences(markdown: str) -> set[str]:
    body = markdown.split("## References", 1)[0]
    return {s.strip() for s in re.split(r"(?<=[.!?])\s+", body) if len(s.strip()) > 40}


def changes_since(previous: str, current: str) -> str:
    """Compare references and body sentences; say plainly when nothing changed."""
    previous = previous.split("\n## Changes since the last run", 1)[0]
    old_refs, new_refs = _references(previous), _references(current)
    added_refs, dropped_refs = sorted(new_refs - old_refs), sorted(old_refs - new_refs)
    new_sentences = sorted(_sentences(current) - _sentences(previous))
    lines = ["", "", "## Changes since the last run", ""]
    if not (added_refs or dropped_refs or new_sentences):
        lines.append("No change: the same findings and sources as the last run.")
    else:
        lines.append(
            f"{len(new_sentences)} new or reworded sentences, {len(added_refs)} new sources, "
            f"{len(dropped_refs)} dropped sources."
        )
        lines += [f"- new source: {r}" for r in added_refs[:20]]
        lines += [f"- dropped source: {r}" for r in dropped_refs[:20]]
    return "\n".join(lines) + "\n"
