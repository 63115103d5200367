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
from experiments.recovery.plans import POINTS

_COLUMNS = (
    ("re_executed_calls", "re-exec calls", "{:.0f}"),
    ("wasted_tokens", "wasted tokens", "{:.0f}"),
    ("detection_s", "detect s", "{:.2f}"),
    ("resume_s", "resume s", "{:.2f}"),
    ("recovery_s", "kill→next call s", "{:.2f}"),
    ("wall_rel", "wall/clean", "{:.2f}"),
    ("dup_ledger_rows", "dup ledger rows", "{:.0f}"),
)


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
            entry[column] = stat(_values(rows, column))
        out[key] = entry
    return out


def _cell(entry: dict[str, Any], column: str, fmt: str) -> str:
    s = entry.get(column) or {}
    if not s:
        return "–"
    median, lo, hi, p95 = (fmt.format(s[k]) for k in ("median", "ci_lo", "ci_hi", "p95"))
    return f"{median} [{lo}–{hi}] p95 {p95}"


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
    """One row per arm over all kill points: the headline numbers (medians, p95 in brackets)."""
    head = ["arm", "kill runs", "kills", "same answer", "re-exec calls / kill",
            "wasted tokens", "detect s", "resume s", "kill→next call s", "dup ledger rows"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arm in ARMS:
        rows = [r for r in records if r["arm"] == arm and r["point"] != "none"]
        if not rows:
            continue
        per_kill = [r["re_executed_calls"] / r["kills"] for r in rows if r["kills"]]
        cells = [arm, str(len(rows)), str(sum(r["kills"] for r in rows)),
                 f"{sum(bool(r['answer_ok']) for r in rows) / len(rows):.0%}",
                 _med_p95(per_kill, "{:.1f}"), _med_p95(_values(rows, "wasted_tokens"), "{:.0f}"),
                 _med_p95(_values(rows, "detection_s"), "{:.2f}"),
                 _med_p95(_values(rows, "resume_s"), "{:.2f}"),
                 _med_p95(_values(rows, "recovery_s"), "{:.2f}"),
                 _med_p95(_values(rows, "dup_ledger_rows"), "{:.0f}")]  # fmt: skip
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
        "## By arm, all kill points (median, p95 in brackets)\n\n" + overview_table(records),
        "## Runs with kills (median [95% bootstrap CI] p95)\n\n" + markdown_table(summary, points),
    ])  # fmt: skip
    summary_path = out / "summary.md"
    summary_path.write_text(text + "\n")
    plots = write_plots(records, out)
    return ExperimentResult(out=out, jsonl=jsonl, summary=summary_path, plots=plots, records=records, wall_s=wall_s)
