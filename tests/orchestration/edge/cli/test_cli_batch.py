"""`durable-research batch` end to end through the real CLI: the in-process worker runs it, `status` shows it,
refused actions exit 1 with one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.batches import write_corpus
from tests.support.cli_jobs import CLI, cli, cli_env, cli_json, stop_server, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_batch_runs_reports_and_status_shows_it(tmp_path: Path) -> None:
    home = tmp_path / "state"
    corpus = write_corpus(tmp_path / "corpus", 12)
    try:
        out = cli(home, "batch", str(corpus), "--graph", "extract-claims@1", "--model", "fake", "--job-id",
                  "cli-batch", "--json")  # fmt: skip
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert (result["status"], result["done"], result["failed"]) == ("completed", 12, 0)
        report = Path(result["report_path"]).read_text()
        assert "12 of 12 documents analysed with `extract-claims@1`" in report
        status = cli_json(home, "status", "cli-batch")
        assert (status["phase"], status["closed"], status["done"]) == ("completed", True, 12)
        again = cli_json(home, "result", "cli-batch")  # `result` serves a batch as `status` does
        assert (again["status"], again["done"]) == ("completed", 12)
        assert Path(again["report_path"]).read_text() == report
        refused = cli(home, "batch", "pause", "cli-batch")
        assert refused.returncode == 1 and "has already ended" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        stop_server(home)


def test_batch_waits_for_approve_from_another_terminal(tmp_path: Path) -> None:
    home = tmp_path / "state"
    corpus = write_corpus(tmp_path / "corpus", 6)
    runner = subprocess.Popen(
        [CLI, "batch", str(corpus), "--model", "fake", "--approve", "wait", "--job-id", "cli-wait", "--json"],
        env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(
            lambda: (home / "temporal-server.json").exists()
            and cli(home, "status", "cli-wait", "--json").stdout.count('"awaiting_approval"') > 0,
            timeout_s=120, what="the batch to wait for approval",
        )  # fmt: skip
        running = cli_json(home, "status", "cli-wait")
        assert (running["total"], running["done"], running["failed"]) == (6, 6, 0)
        assert [s["status"] for s in running["shards"]] == ["done"]
        approved = cli(home, "approve", "cli-wait", "--by", "tester")
        assert approved.returncode == 0, approved.stderr
        out, err = runner.communicate(timeout=120)
        assert runner.returncode == 0, err
        assert json.loads(out)["published"] == ["artifact", "index", "notify"]
    finally:
        if runner.poll() is None:
            runner.kill()
        stop_server(home)
