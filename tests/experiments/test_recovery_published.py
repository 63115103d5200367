"""The recovery table on the experiments page quotes the committed call-log run: each of its four
rows must say what `results-call-log/summary.md` and `runs.jsonl` hold, so a re-run that is not
copied to the page (or a page edited by hand) fails here."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from tests.support.published import page

RESULTS = Path(__file__).resolve().parents[2] / "experiments" / "recovery" / "results-call-log"
ROWS = {"A2": "A2, today, no call log", "A3": "A3, today, no call log",
        "A5restart": "A5restart, call log", "A5resume": "A5resume, call log"}  # fmt: skip


def _by_arm() -> dict[str, list[str]]:
    section = (RESULTS / "summary.md").read_text().split("## By arm", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines() if line.startswith("| A")]
    return {row[0]: row for row in rows}


def _total(cell: str) -> str:
    found = re.search(r"total (\d+)", cell)
    assert found, cell
    return found.group(1)


def _median(cell: str) -> str:
    return cell.split(" ", 1)[0]


@pytest.mark.parametrize("arm", list(ROWS))
def test_the_page_quotes_the_committed_row(arm: str) -> None:
    row = _by_arm()[arm]
    # summary columns: arm, kill runs, kills, same answer, re-exec / kill, completed repeated,
    # of which the graph had the reply, in-flight repeated, wasted tokens, detect, resume, kill→next call
    kill_runs = [
        r for line in (RESULTS / "runs.jsonl").read_text().splitlines()
        if (r := json.loads(line))["arm"] == arm and r["point"] not in ("none", "pause")
    ]  # fmt: skip
    wall_rel = statistics.median(r["wall_rel"] for r in kill_runs)
    expected = (
        f"| {ROWS[arm]} (results-call-log) | {row[3]} | {float(_median(row[4])):g} | "
        f"{_total(row[5])} / {_total(row[7])} | {_median(row[8])} | {_median(row[9])} | {_median(row[10])} | "
        f"{row[11]} | {wall_rel:.2f} |"
    )
    assert expected in page("experiments.md"), f"docs/experiments.md does not quote {RESULTS.name}: {expected}"
