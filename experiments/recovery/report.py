"""Results on disk: one JSONL line per run, a Markdown summary, and PNG plots."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from experiments.recovery.config import ARMS, ExperimentConfig
from experiments.recovery.plans import PAUSE_POINTS, POINTS

_COLUMNS = (
    ("re_executed_calls", "re-exec calls", "{:.0f}"),
    ("completed_repeated", "completed calls repeated", "{:.0f}"),
    ("completed_repeated_had_reply", "of which the graph had the reply", "{:.0f}"),
    ("inflight_repeated", "in-flight calls repeated", "{:.0f}"),
    ("replayed_calls", "replayed from call log", "{:.0f}"),
    ("wasted_tokens", "wasted tokens", "{:.0f}"),
    ("detection_s", "detect s", "{:.2f}"),
    ("resume_s", "resume s", "{:.2f}"),
    ("recovery_s", "kill→next call s", "{:.2f}"),
    ("wall_s", "wall s", "{:.2f}"),
    ("wall_rel", "wall/clean", "{:.2f}"),
    ("dup_ledger_rows", "dup ledger rows", "{:.0f}"),
)
# Counts whose sum says more than a median: "0 at every kill" is a claim about all of them.
_TOTALS = ("completed_repeated", "completed_repeated_had_reply", "inflight_repeated")


class ExperimentResult(BaseModel):
    """Where the results went and the per-run records themselves."""

    out: Path
    jsonl: Path
    summary: Path
    plots: list[Path]
    records: list[dict[str, Any]]
    wall_s: float


def _values(rows: list[dict[str, Any]], key: str) -> list[float]:
    return [float(r[key]) for r in rows if r.get(key) is not None]


def bootstrap_ci(values: list[float], n: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the median."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    data = np.asarray(values)
    medians = np.median(rng.choice(data, size=(n, len(data)), replace=True), axis=1)
    return float(np.percentile(medians, 2.5)), float(np.percentile(medians, 97.5))


def stat(values: list[float]) -> dict[str, float]:
    """Median, p95 and the bootstrap CI of the median."""
    if not values:
        return {}
    lo, hi = bootstrap_ci(values)
    return {
        "median": float(np.median(values)),
        "p95": float(np.percentile(values, 95)),
        "ci_lo": lo,
        "ci_hi": hi,
        "n": len(values),
    }


def summarise(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per "arm/point": counts, rates and stats of every metric column."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[f"{r['arm']}/{r['point']}"].append(r)
    out: dict[str, dict[str, Any]] = {}
    for key, rows in groups.items():
        entry: dict[str, Any] = {
            "runs": len(rows),
            "completed": sum(bool(r["completed"]) for r in rows) / len(rows),
            "answer_ok": sum(bool(r["answer_ok"]) for r in rows) / len(rows),
            "storage_bytes": stat(_values(rows, "storage_bytes")),
            "wall_s": stat(_values(rows, "wall_s")),
        }
        for column, _, _ in _COLUMNS:
            if not any(column in r for r in rows):
                continue  # records of a harness that did not measure it yet (merged older folders)
            entry[column] = stat(_values(rows, column))
            if column in _TOTALS and entry[column]:
                entry[column]["total"] = sum(_values(rows, column))
        out[key] = entry
    return out


def _cell(entry: dict[str, Any], column: str, fmt: str) -> str:
    s = entry.get(column) or {}
    if not s:
        return "–"
    median, lo, hi, p95 = (fmt.format(s[k]) for k in ("median", "ci_lo", "ci_hi", "p95"))
    total = f", total {fmt.format(s['total'])}" if "total" in s else ""
    return f"{median} [{lo}–{hi}] p95 {p95}{total}"


def markdown_table(summary: dict[str, dict[str, Any]], points: list[str]) -> str:
    """Kill runs: one row per arm and point, medians with 95% CI and p95."""
    head = ["arm", "point", "runs", "done", "same answer", *(c[1] for c in _COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arm in ARMS:
        for point in points:
            entry = summary.get(f"{arm}/{point}")
            if entry is None:
                continue
            cells = [arm, point, str(entry["runs"]), f"{entry['completed']:.0%}",
                     f"{entry['answer_ok']:.0%}", *(_cell(entry, c, f) for c, _, f in _COLUMNS)]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def overview_table(records: list[dict[str, Any]]) -> str:
    """One row per arm over all kill points: the headline numbers (medians, p95 in brackets).

    Pauses are left out: a paused worker lives on, and what it then does is the zombie table's.
    """
    head = ["arm", "kill runs", "kills", "same answer", "re-exec calls / kill",
            "completed calls repeated", "of which the graph had the reply", "in-flight calls repeated",
            "wasted tokens", "detect s", "resume s", "kill→next call s", "dup ledger rows"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arm in ARMS:
        rows = [r for r in records if r["arm"] == arm and r["point"] not in ("none", *PAUSE_POINTS)]
        if not rows:
            continue
        per_kill = [r["re_executed_calls"] / r["kills"] for r in rows if r["kills"]]
        cells = [arm, str(len(rows)), str(sum(r["kills"] for r in rows)),
                 f"{sum(bool(r['answer_ok']) for r in rows) / len(rows):.0%}",
                 _med_p95(per_kill, "{:.1f}"),
                 _med_total(_values(rows, "completed_repeated")),
                 _med_total(_values(rows, "completed_repeated_had_reply")),
                 _med_total(_values(rows, "inflight_repeated")),
                 _med_p95(_values(rows, "wasted_tokens"), "{:.0f}"),
                 _med_p95(_values(rows, "detection_s"), "{:.2f}"),
                 _med_p95(_values(rows, "resume_s"), "{:.2f}"),
                 _med_p95(_values(rows, "recovery_s"), "{:.2f}"),
                 _med_p95(_values(rows, "dup_ledger_rows"), "{:.0f}")]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _med_total(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{float(np.median(values)):.0f} ({float(np.percentile(values, 95)):.0f}), total {sum(values):.0f}"


def zombie_table(records: list[dict[str, Any]]) -> str:
    """Pause runs: what the paused worker did after its successor took over (totals over runs)."""
    head = ["arm", "pause runs", "takeover seen (while paused)", "same answer", "pause→takeover s",
            "retries to the paused worker", "kill→next call s", "zombie calls after takeover",
            "runs with zombie calls", "zombie call-log writes after takeover", "forked chains",
            "re-runs from input"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arm in ARMS:
        rows = [r for r in records if r["arm"] == arm and r.get("pauses")]
        if not rows:
            continue
        seen = [r for r in rows if r.get("pause_to_takeover_s") is not None]
        paused = sum(bool(r.get("takeover_while_paused")) for r in seen)

        def total(key: str, rows: list[dict[str, Any]] = seen) -> str:
            values = _values(rows, key)
            return f"{sum(values):.0f}" if values else "–"

        calls = _values(seen, "zombie_calls_after_takeover")
        cells = [arm, str(len(rows)), f"{len(seen)} ({paused})",
                 f"{sum(bool(r['answer_ok']) for r in rows) / len(rows):.0%}",
                 _med_p95(_values(seen, "pause_to_takeover_s"), "{:.2f}"),
                 _med_total(_values(seen, "retries_to_paused_worker")),
                 _med_p95(_values(rows, "recovery_s"), "{:.2f}"),
                 total("zombie_calls_after_takeover"), str(sum(c > 0 for c in calls)),
                 total("zombie_log_writes"), total("forked_chains"), total("reruns_from_input")]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _med_p95(values: list[float], fmt: str) -> str:
    if not values:
        return "–"
    return f"{fmt.format(float(np.median(values)))} ({fmt.format(float(np.percentile(values, 95)))})"


def clean_table(summary: dict[str, dict[str, Any]]) -> str:
    """Crash-free runs: wall time, overhead relative to A0, storage bytes."""
    base = (summary.get("A0/none") or {}).get("wall_s", {}).get("median")
    lines = ["| arm | clean runs | wall s (median) | vs A0 | checkpoint/history bytes |",
             "|---|---|---|---|---|"]  # fmt: skip
    for arm in ARMS:
        entry = summary.get(f"{arm}/none")
        if entry is None:
            continue
        wall = entry["wall_s"]["median"]
        rel = f"{wall / base:.2f}x" if base else "–"
        size = entry["storage_bytes"].get("median", 0)
        lines.append(f"| {arm} | {entry['runs']} | {wall:.2f} | {rel} | {size:,.0f} |")
    return "\n".join(lines)


def write_report(
    config: ExperimentConfig, records: list[dict[str, Any]], wall_s: float, harness_runs: int = 1
) -> ExperimentResult:
    """Write ``runs.jsonl``, ``summary.md``, ``summary.json`` and the plots into ``config.out``.

    ``harness_runs`` counts the processes whose records these are (more than one after a merge).
    """
    from experiments.recovery.plots import write_plots

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "runs.jsonl"
    jsonl.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    (out / "runs.partial.jsonl").unlink(missing_ok=True)
    summary = summarise(records)
    points = [p for p in POINTS if p in config.points]
    settings = config.model_dump(mode="json", exclude={"out"})
    (out / "summary.json").write_text(
        json.dumps({"config": settings, "summary": summary, "wall_s": wall_s, "harness_runs": harness_runs}, indent=1)
    )
    text = "\n\n".join([
        f"# Recovery experiment ({config.profile} profile settings, {config.kills} kills per arm and point)",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} in {wall_s:.0f} s. "
        f"Settings: `{json.dumps(settings)}`",
        "## Crash-free runs\n\n" + clean_table(summary),
        "## By arm, all kill points, pauses apart (median, p95 in brackets)\n\n" + overview_table(records),
        "## Runs with kills (median [95% bootstrap CI] p95)\n\n" + markdown_table(summary, points),
    ])  # fmt: skip
    if any(r.get("pauses") for r in records):
        text += (
            "\n\n## Zombies: worker SIGSTOPped past the heartbeat timeout, SIGCONT once its successor took over"
            " (medians, p95 in brackets; counts are totals over the runs whose takeover was seen)\n\n"
            + zombie_table(records)
        )
    summary_path = out / "summary.md"
    summary_path.write_text(text + "\n")
    plots = write_plots(records, out)
    return ExperimentResult(out=out, jsonl=jsonl, summary=summary_path, plots=plots, records=records, wall_s=wall_s)
