"""Per-run metrics from the stub's call log, the hub's events and the arm's outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from experiments.recovery.arms import Outcome
from experiments.recovery.hub import RunWatch
from experiments.recovery.plans import CleanProfile


def calls_of(log_path: Path, run: str) -> list[dict[str, Any]]:
    """Every model call the stub served for `run`, in start order."""
    if not log_path.exists():
        return []
    calls = []
    for line in log_path.read_text().splitlines():
        record = json.loads(line)
        if record.get("run") == run:
            calls.append(record)
    return sorted(calls, key=lambda c: c["t_begin"])


def _tokens(calls: list[dict[str, Any]]) -> int:
    return sum(int(c["prompt_tokens"]) + int(c["completion_tokens"]) for c in calls)


def _model_s(calls: list[dict[str, Any]]) -> float:
    return sum(float(c["t_end"]) - float(c["t_begin"]) for c in calls)


def clean_profile(calls: list[dict[str, Any]], watch: RunWatch, outcome: Outcome, ledger_rows: int) -> CleanProfile:
    """Summarise a crash-free run."""
    events = watch.events
    return CleanProfile(
        calls=len(calls),
        node_ends=sum(e["event"] == "node_end" for e in events),
        upserts=sum(e["event"] == "upsert" for e in events),
        wall_s=outcome.t_end - outcome.t_start,
        tokens=_tokens(calls),
        model_s=_model_s(calls),
        ledger_rows=ledger_rows,
        first_hash=calls[0]["hash"] if calls else "",
        answer_hash=outcome.answer_hash,
    )


def _recovery(
    kill_t: float, calls: list[dict[str, Any]], events: list[dict[str, Any]], notices: list[float]
) -> dict[str, Any]:
    """Kill -> notice (detection) -> first model call after the kill (resume)."""
    after = [c for c in calls if c["t_begin"] > kill_t]
    next_call = after[0] if after else None
    local = [t for t in notices if t >= kill_t]
    retries = [e["t"] for e in events if e["event"] == "attempt_start" and e["t"] > kill_t]
    notice = local[0] if local else (retries[0] if retries else None)
    out: dict[str, Any] = {
        "recovery_s": None,
        "detection_s": None,
        "resume_s": None,
        "calls_before_kill": sum(c["t_begin"] < kill_t for c in calls),
    }
    if next_call is not None:
        out["recovery_s"] = next_call["t_begin"] - kill_t
        first = calls[0]["hash"]
        out["restarted_from_scratch"] = next_call["attempt"] > 1 and next_call["hash"] == first
    if notice is not None:
        out["detection_s"] = notice - kill_t
        # Work on a surviving worker (A4's parallel activities) may go on before the
        # notice; resume measures the recovered path only: notice to its first call.
        resumed = [c for c in calls if c["t_begin"] >= notice]
        if resumed:
            out["resume_s"] = resumed[0]["t_begin"] - notice
    return out


def run_metrics(
    calls: list[dict[str, Any]],
    watch: RunWatch,
    outcome: Outcome,
    clean: CleanProfile,
    reference_answer: str,
    ledger_rows: int,
) -> dict[str, Any]:
    """The JSONL record of one run (kills included, or a clean run when there are none)."""
    kills = [k["t"] for k in watch.kills]
    wall = outcome.t_end - outcome.t_start
    record: dict[str, Any] = {
        "completed": outcome.completed,
        "answer_ok": outcome.completed and outcome.answer_hash == reference_answer,
        "error": outcome.error,
        "kills": len(kills),
        "calls": len(calls),
        "unique_calls": len({c["hash"] for c in calls}),
        "re_executed_calls": len(calls) - clean.calls,
        "wasted_tokens": _tokens(calls) - clean.tokens,
        "redone_model_s": round(_model_s(calls) - clean.model_s, 4),
        "wall_s": round(wall, 4),
        "wall_rel": round(wall / clean.wall_s, 4) if clean.wall_s else None,
        "ledger_rows": ledger_rows,
        "dup_ledger_rows": ledger_rows - clean.ledger_rows,
        "memory_notes": outcome.memory_notes,
        "storage_bytes": outcome.storage_bytes,
        "recovery_s": None,
        "detection_s": None,
        "resume_s": None,
        "restarted_from_scratch": None,
    }
    if kills:
        record.update(_recovery(kills[0], calls, watch.events, outcome.notices))
        record["kill_offsets_s"] = [round(t - outcome.t_start, 4) for t in kills]
    return record
