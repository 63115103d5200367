"""How a job event reads to a person: one line each, shared by `watch` and the notebook widget."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from orchestration.shared.events import EventTally, JobEvent

TOKEN_PREVIEW_CHARS = 80


def event_line(event: JobEvent, *, counted: bool = True) -> str:
    """One line for `event`; `counted=False` marks an attempt a retry superseded."""
    when = datetime.fromtimestamp(event.at).strftime("%H:%M:%S.%f")[:-3] if event.at else "--:--:--"
    line = f"{when}  {_body(event)}"
    if event.attempt > 1:
        line += f"  [attempt {event.attempt}]"
    if not counted:
        line += "  (superseded by a retry: not counted)"
    return line


def _body(e: JobEvent) -> str:
    where = "/".join(x for x in (e.subtask or e.graph, e.node) if x)
    secs = f" in {e.seconds:.2f}s" if e.seconds is not None else ""
    if e.kind == "phase":
        return f"phase -> {e.phase}" + (f" ({e.detail})" if e.detail else "")
    if e.kind == "subtask_started":
        return f"subtask {e.subtask} started with {e.graph}"
    if e.kind == "subtask_finished":
        return f"subtask {e.subtask} {e.phase}" + (f": {e.detail}" if e.detail else "")
    if e.kind == "approval":
        return f"approval {e.phase}" + (f" ({e.detail})" if e.detail else "")
    if e.kind == "retry":
        return f"RETRY {e.subtask or e.graph} ({e.activity_id}): {e.detail}"
    if e.kind == "resumed":
        return f"resumed {e.subtask or e.graph} from its checkpoint after step {e.step}"
    if e.kind == "node_started":
        return f"{where} started"
    if e.kind == "node_finished":
        return f"{where} finished{secs}"
    if e.kind == "tool_call":
        how = "replayed from the call log" if e.replayed else ("failed" if not e.ok else f"ran{secs}")
        return f"{where} tool {e.tool}({e.args}) {how}"
    if e.kind == "model_call" and e.replayed:
        return f"{where} model call replayed from the call log ({e.tokens_in + e.tokens_out} tokens not spent again)"
    if e.kind == "model_call":
        model = f" {e.model}" if e.model else ""
        return f"{where} model call{model}: {e.tokens_in} tokens in, {e.tokens_out} out{secs}"
    text = e.text if len(e.text) <= TOKEN_PREVIEW_CHARS else e.text[: TOKEN_PREVIEW_CHARS - 3] + "..."
    return f"{where} tokens: {text!r}"


def tally_line(events: int, tally: EventTally) -> str:
    """The closing summary: what the events add up to, each activity's latest attempt only."""
    t = tally.total
    line = (
        f"{events} events: {t('nodes')} nodes, {t('model_calls')} model calls, {t('tokens_in')} tokens in, "
        f"{t('tokens_out')} out; {tally.retries} retries, {tally.resumed} resumed"
    )
    if t("tool_calls"):
        line += f", {t('tool_calls')} tool calls"
    if t("replayed_calls"):
        line += f", {t('replayed_calls')} calls replayed from the call log"
    return line + (f" ({tally.ignored} events of superseded attempts not counted)" if tally.ignored else "")


def tally_record(
    events: int, kinds: Mapping[str, int], tally: EventTally, status: str | None, next_offset: int
) -> dict[str, Any]:
    """The closing summary as JSON (`watch --json`'s last line): the same totals as `tally_line`.

    `kinds` counts every event shown, superseded attempts' too; the totals count each
    activity's latest attempt only; `status` is the job's final phase (None: unknown).
    """
    t = tally.total
    return {
        "events": events,
        "kinds": dict(sorted(kinds.items())),
        "nodes": t("nodes"),
        "model_calls": t("model_calls"),
        "tokens_in": t("tokens_in"),
        "tokens_out": t("tokens_out"),
        "replayed_calls": t("replayed_calls"),
        "tool_calls": t("tool_calls"),
        "retries": tally.retries,
        "resumed": tally.resumed,
        "ignored": tally.ignored,
        "status": status,
        "next_offset": next_offset,
    }
