"""`durable-research run --json`: embedded server, in-process worker, a finished job and its report."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli_jobs import CORPUS, QUESTION, cli, stop_server


def test_run_completes_and_prints_where_the_report_is(tmp_path: Path) -> None:
    home = tmp_path / "state"
    try:
        out = cli(home, "run", QUESTION, "--corpus", CORPUS, "--model", "fake", "--json")
    finally:
        stop_server(home)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "completed"
    assert result["subtasks"] and all(t["status"] == "done" for t in result["subtasks"])
    report = Path(result["report_path"])
    assert report.is_relative_to(home.resolve())
    assert report.read_text().startswith(result["report"]["preview"][:200])
    assert "Traceback" not in out.stderr
