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


def repeated_calls(
    calls: list[dict[str, Any]], faults: list[tuple[float, int]], replies: dict[str, float] | None = None
) -> tuple[int, int, int]:
    """Calls made after a fault (kill or pause, as (time, pid)) that repeat one made before it, by kind.

    A call repeats an earlier call with the same prompt hash begun before the latest fault
    preceding it. It is a *completed* call repeated when that earlier call had ended (the
    stub's ``t_end``) before the fault and no fault hit its caller while it ran; an *in-flight*
    call repeated otherwise: no store keeps a reply that never reached its caller (a call cut
    short by a first kill may end at the stub before a second one). `replies` maps a hash to
    when the graph first had its reply (the ``call_end`` probe); of the completed calls
    repeated, those whose reply the graph already had are counted apart (the rest were in
    transit: sent by the stub, not yet read by the process it killed). Returns (completed,
    in flight, completed with the reply in the graph).
    """

    def finished_before(call: dict[str, Any], fault: float) -> bool:
        cut = any(pid == call.get("pid") and call["t_begin"] < t < call["t_end"] for t, pid in faults)
        return call["t_end"] <= fault and not cut

    completed = in_flight = had_reply = 0
    ordered = sorted(t for t, _ in faults)
    for i, call in enumerate(calls):
        before = [f for f in ordered if f < call["t_begin"]]
        if not before:
            continue
        fault = before[-1]
        earlier = [e for e in calls[:i] if e["hash"] == call["hash"] and e["t_begin"] < fault]
        if any(finished_before(e, fault) for e in earlier):
            completed += 1
            had_reply += (replies or {}).get(call["hash"], float("inf")) <= fault
        elif earlier:
            in_flight += 1
    return completed, in_flight, had_reply


def replies_of(events: list[dict[str, Any]]) -> dict[str, float]:
    """When the graph first had the reply of each request hash (its ``call_end`` probes)."""
    first: dict[str, float] = {}
    for e in events:
        if e.get("event") == "call_end" and e.get("hash"):
            first[e["hash"]] = min(first.get(e["hash"], float("inf")), float(e["t"]))
    return first


def _zombie(calls: list[dict[str, Any]], pause: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """What a paused worker did once its successor had taken over the run."""
    takeover = pause.get("takeover_t")
    out: dict[str, Any] = {
        "pause_to_takeover_s": None if takeover is None else round(takeover - pause["t"], 4),
        "takeover_event": pause.get("takeover_event"),
        "takeover_attempt": pause.get("takeover_attempt"),
        "takeover_while_paused": pause.get("takeover_while_paused"),
        "zombie_attempt": pause["attempt"],
        # Retries Temporal handed to the stopped worker's open polls (each waits out a heartbeat timeout).
        "retries_to_paused_worker": None,
        "zombie_calls_after_takeover": None,
        **stored,
    }
    if takeover is not None:
        out["zombie_calls_after_takeover"] = sum(c["pid"] == pause["pid"] and c["t_begin"] > takeover for c in calls)
    if pause.get("takeover_attempt") is not None:
        out["retries_to_paused_worker"] = int(pause["takeover_attempt"]) - int(pause["attempt"]) - 1
    return out


def _recovery(
    kill_t: float,
    calls: list[dict[str, Any]],
    events: list[dict[str, Any]],
    notices: list[float],
    stopped_pid: int | None = None,
) -> dict[str, Any]:
    """Kill -> notice (detection) -> first model call after the kill (resume).

    After a pause, `stopped_pid` is the paused worker: its own calls once let go are the
    zombie's, not the recovery's.
    """
    successor = [c for c in calls if stopped_pid is None or c.get("pid") != stopped_pid]
    after = [c for c in successor if c["t_begin"] > kill_t]
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
        resumed = [c for c in successor if c["t_begin"] >= notice]
        if resumed:
            out["resume_s"] = resumed[0]["t_begin"] - notice
    return out


# Differences from the clean run: only a run that did the whole work can be compared with it.
_AGAINST_CLEAN = ("re_executed_calls", "wasted_tokens", "redone_model_s", "dup_ledger_rows")


def without_unfinished(record: dict[str, Any]) -> dict[str, Any]:
    """Blank a run's differences from the clean run when it did not complete.

    A run that failed after 3 of the graph's 11 calls did not save 8 calls; counting
    `calls - clean.calls` would put a negative number of repeats in the medians and plots.
    Applied as a run is measured and again when results are read back (older files).
    """
    if not record.get("completed"):
        record.update(dict.fromkeys(_AGAINST_CLEAN))
    return record


def run_metrics(
    calls: list[dict[str, Any]],
    watch: RunWatch,
    outcome: Outcome,
    clean: CleanProfile,
    reference_answer: str,
    ledger_rows: int,
    stored: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSONL record of one run (kills included, or a clean run when there are none).

    `stored` is what the arm found in the run's database after a pause (`TemporalArm.zombie_audit`).
    """
    kills = [k["t"] for k in watch.kills]
    pauses = watch.pauses
    faults = [(float(f["t"]), int(f["pid"])) for f in [*watch.kills, *pauses]]
    wall = outcome.t_end - outcome.t_start
    record: dict[str, Any] = {
        "completed": outcome.completed,
        "answer_ok": outcome.completed and outcome.answer_hash == reference_answer,
        "error": outcome.error,
        "kills": len(kills),
        "pauses": len(pauses),
        "calls": len(calls),
        "unique_calls": len({c["hash"] for c in calls}),
        "re_executed_calls": len(calls) - clean.calls,
        "completed_repeated": None,
        "inflight_repeated": None,
        "completed_repeated_had_reply": None,
        "replayed_calls": outcome.replayed_calls,
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
    without_unfinished(record)
    if faults:
        kinds = repeated_calls(calls, faults, replies_of(watch.events))
        record["completed_repeated"], record["inflight_repeated"], record["completed_repeated_had_reply"] = kinds
    if kills:
        record.update(_recovery(kills[0], calls, watch.events, outcome.notices))
        record["kill_offsets_s"] = [round(t - outcome.t_start, 4) for t in kills]
    elif pauses:
        pause = pauses[0]
        record.update(_recovery(pause["t"], calls, watch.events, outcome.notices, stopped_pid=pause["pid"]))
        record["pause_offset_s"] = round(pause["t"] - outcome.t_start, 4)
        record.update(_zombie(calls, pause, stored or {}))
    return record
