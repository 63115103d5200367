"""PNG plots of a recovery experiment (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments.recovery.config import ARMS


def _by_arm(records: list[dict[str, Any]], key: str, kills: bool) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for r in records:
        if (r["point"] != "none") == kills and r.get(key) is not None:
            out.setdefault(r["arm"], []).append(float(r[key]))
    return {arm: out[arm] for arm in ARMS if arm in out}


def _box(data: dict[str, list[float]], title: str, ylabel: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=90)
    if data:
        ax.boxplot(list(data.values()), tick_labels=list(data.keys()), showfliers=True)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_plots(records: list[dict[str, Any]], out: Path) -> list[Path]:
    """Three small PNGs: re-executed calls, kill-to-next-call latency, crash-free wall time."""
    return [
        _box(_by_arm(records, "re_executed_calls", True), "Re-executed model calls per kill run",
             "calls", out / "re_executed_calls.png"),
        _box(_by_arm(records, "recovery_s", True), "Kill to next model call", "seconds",
             out / "recovery_latency.png"),
        _box(_by_arm(records, "wall_s", False), "Crash-free wall time", "seconds",
             out / "clean_wall.png"),
    ]  # fmt: skip
