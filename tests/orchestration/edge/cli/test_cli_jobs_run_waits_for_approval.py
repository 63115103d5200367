"""`run --approve wait` keeps working in-process, names the approve command, and ends once approved."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.cli_jobs import CLI, CORPUS, QUESTION, cli, cli_env, stop_server


def test_run_waits_for_an_approval_from_another_terminal(tmp_path: Path) -> None:
    home = tmp_path / "state"
    args = [CLI, "run", QUESTION, "--corpus", CORPUS, "--approve", "wait", "--job-id", "wait-job", "--json"]
    run = subprocess.Popen(args, env=cli_env(home), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert run.stderr is not None
        told = next(line for line in iter(run.stderr.readline, "") if "durable-research approve" in line)
        assert "durable-research approve wait-job" in told
        approved = cli(home, "approve", "wait-job", "--by", "second-terminal")
        out, err = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
        stop_server(home)
    assert approved.returncode == 0, approved.stderr
    assert run.returncode == 0, err
    result = json.loads(out)
    assert result["status"] == "completed"
    assert Path(result["report_path"]).exists()
