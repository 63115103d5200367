"""`experiment recovery|merge`: LangGraph checkpointer vs Temporal under seeded SIGKILLs.

A plugin of the `durable-research` CLI: the `durable_research.cli` entry point names
`register`, so the product's CLI never imports the experiments package.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from experiments.recovery import (
    ExperimentResult,
    RecoveryExperimentError,
    merge_results,
    profile_config,
    run_experiment,
)
from orchestration.edge.cli.output import console, emit_json, err_console, fail

experiment_app = typer.Typer(help="Experiments (recovery under crashes).", no_args_is_help=True)


def _names(values: list[str] | None) -> list[str] | None:
    """Accept both `--arms A0,A3` and `--arms A0 --arms A3`."""
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _show(result: ExperimentResult, as_json: bool) -> None:
    """Print the summary table (or the summary JSON) and where the files went."""
    if as_json:
        summary = json.loads((result.out / "summary.json").read_text())
        emit_json({"out": str(result.out), "runs": len(result.records), **summary})
        return
    console.print(result.summary.read_text(), markup=False, highlight=False)
    console.print(f"Results: {result.jsonl}, {result.summary}, plots: "
                  + ", ".join(p.name for p in result.plots))  # fmt: skip


@experiment_app.command("recovery")
def recovery(
    arms: list[str] = typer.Option(None, "--arms", help="Arms, e.g. A0,A1sync,A3 or A5 (both A5 arms); default all."),
    points: list[str] = typer.Option(None, "--points", help="Kill points (default: profile's)."),
    kills: int = typer.Option(None, "--kills", min=0, help="Runs per arm and kill point."),
    seed: int = typer.Option(None, "--seed", help="Seed of the kill plans."),
    profile: str = typer.Option("quick", "--profile", help="quick, medium, full or slow (1.5 s calls)."),
    out: Path = typer.Option(Path("experiments/recovery/results"), "--out", help="Folder for JSONL, summary, plots."),
    latency_ms: float = typer.Option(None, "--latency-ms", help="Model stub latency."),
    work: Path = typer.Option(
        None, "--work", help="Keep the work folder (worker logs, stub log, checkpoint databases); default: a temp one."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Crash the workload graph at seeded logical points under every arm and compare recovery."""
    try:
        config = profile_config(
            profile,  # type: ignore[arg-type]
            arms=_names(arms), points=_names(points), kills=kills, seed=seed, out=out,
            latency_ms=latency_ms,
        )  # fmt: skip
        say = (lambda msg: err_console.print(msg, highlight=False)) if as_json else console.print
        result = asyncio.run(run_experiment(config, progress=say, work=work))
    except RecoveryExperimentError as exc:
        fail(str(exc))
    _show(result, as_json)


@experiment_app.command("merge")
def merge(
    sources: list[Path] = typer.Argument(..., help="Result folders of finished experiments (or earlier merges)."),
    out: Path = typer.Option(Path("experiments/recovery/results"), "--out", help="Folder for the merged results."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Merge recovery results run side by side (arms split across processes) or with more seeds."""
    try:
        result = merge_results(sources, out)
    except RecoveryExperimentError as exc:
        fail(str(exc))
    _show(result, as_json)


def register(app: typer.Typer) -> None:
    """Add `experiment` to the `durable-research` app (the entry point's target)."""
    app.add_typer(experiment_app, name="experiment")
