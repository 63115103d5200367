"""Merging recovery results: batches run side by side or one after another make one report.

The sources are cut from the committed results, so the merge is checked on real records:
cutting them apart and merging them back must give the committed summary again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from experiments.recovery import ExperimentConfigError, merge_results, records_from_jsonl
from orchestration.edge.cli.main import app

COMMITTED = Path(__file__).resolve().parents[2] / "experiments" / "recovery" / "results"
LOCAL_ARMS = {"A0", "A1sync", "A1async", "A1t"}


def _write_source(folder: Path, records: list[dict[str, Any]], **config: Any) -> Path:
    """A result folder as one harness process leaves it (runs.jsonl and summary.json)."""
    base = json.loads((COMMITTED / "summary.json").read_text())["config"]
    arms = sorted({r["arm"] for r in records})
    folder.mkdir(parents=True)
    folder.joinpath("runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    settings = base | {"arms": arms, "note": ""} | config
    folder.joinpath("summary.json").write_text(json.dumps({"config": settings, "summary": {}, "wall_s": 10.0}))
    return folder


@pytest.fixture(scope="module")
def committed() -> list[dict[str, Any]]:
    return records_from_jsonl(COMMITTED / "runs.jsonl")


@pytest.fixture(scope="module")
def cut(committed: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The committed results cut into one folder per seed and per process (local vs Temporal arms)."""
    root = tmp_path_factory.mktemp("cut")
    folders = []
    for seed in sorted({r["seed"] for r in committed}):
        for side, arms in (("local", LOCAL_ARMS), ("temporal", None)):
            part = [r for r in committed if r["seed"] == seed and (r["arm"] in LOCAL_ARMS) == (arms is not None)]
            folders.append(_write_source(root / f"{seed}-{side}", part, seed=seed, kills=10))
    return folders


def test_cut_results_merge_back_into_the_committed_summary(
    cut: list[Path], committed: list[dict[str, Any]], tmp_path: Path
) -> None:
    result = merge_results(cut, tmp_path / "merged")
    meta = json.loads(result.out.joinpath("summary.json").read_text())
    expected = json.loads((COMMITTED / "summary.json").read_text())
    assert len(result.records) == len(committed)
    assert meta["summary"] == expected["summary"]
    assert meta["harness_runs"] == len(cut)
    assert meta["config"]["kills"] == expected["config"]["kills"]
    assert meta["config"]["arms"] == expected["config"]["arms"]
    seeds = sorted({r["seed"] for r in committed})
    assert f"seeds {seeds}" in meta["config"]["note"]
    assert {p.name for p in result.plots} >= {"re_executed_calls.png", "recovery_latency.png"}


def test_a_merge_takes_another_batch_in_place(cut: list[Path], tmp_path: Path) -> None:
    merged = merge_results(cut[:2], tmp_path / "merged")  # first seed, both processes
    again = merge_results([merged.out, *cut[2:]], merged.out)  # the next seed added later
    meta = json.loads(again.out.joinpath("summary.json").read_text())
    assert meta["harness_runs"] == len(cut)
    assert len(again.records) == sum(len(records_from_jsonl(c / "runs.jsonl")) for c in cut)
    assert not again.out.joinpath("runs.partial.jsonl").exists()


def test_settings_that_change_the_numbers_must_agree(cut: list[Path], tmp_path: Path) -> None:
    slow = _write_source(tmp_path / "slow", records_from_jsonl(cut[0] / "runs.jsonl"), latency_ms=250.0)
    out = tmp_path / "merged"
    with pytest.raises(ExperimentConfigError, match=r"latency_ms is 250\.0"):
        merge_results([cut[1], slow], out)
    assert not out.exists()  # refused before anything was written


def test_cli_merges_and_names_a_folder_without_results(cut: list[Path], tmp_path: Path) -> None:
    args = ["experiment", "merge", *map(str, cut[:2]), "--out", str(tmp_path / "m"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["harness_runs"] == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, ["experiment", "merge", str(empty), "--out", str(tmp_path / "m2")])
    assert result.exit_code == 1
    assert "empty" in result.output and "summary.json" in result.output


def test_a_batch_note_survives_merges(cut: list[Path], tmp_path: Path) -> None:
    noted = _write_source(
        tmp_path / "noted", records_from_jsonl(cut[1] / "runs.jsonl"), seed=7, kills=10, note="A2/A3 re-run"
    )
    merged = merge_results([cut[0], noted], tmp_path / "merged")
    again = merge_results([merged.out, *cut[2:4]], merged.out)
    note = json.loads(again.out.joinpath("summary.json").read_text())["config"]["note"]
    assert note.startswith("merged from 4 runs") and note.endswith("Parts: A2/A3 re-run")
