"""Bad batch input through the real CLI: one clear line, exit 2 (1 for a refused state), nothing started.

A manifest line that is not a readable file among readable ones is not bad input: that
document fails alone (tests/orchestration/workflows/batches/test_batch_manifest_line.py).
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_jobs import CLI, CORPUS, cli_env, cli_json, stop_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# (name, arguments, expected exit code, text the message must contain)
CASES: list[tuple[str, list[str], int, str]] = [
    ("no-sources", ["batch", "--detach"], 2, "at least one SOURCE"),
    ("missing-source", ["batch", "no/such/folder", "--detach"], 2, "does not exist"),
    ("nothing-readable", ["batch", "{fifo_dir}", "--detach"], 2, "no readable document"),
    ("fifo-source", ["batch", "{fifo}", "--detach"], 2, "FIFO"),
    ("manifest-missing", ["batch", "manifest:no/such/list.txt", "--detach"], 2, "manifest file"),
    ("manifest-all-bad", ["batch", "manifest:{bad_list}", "--detach"], 2, "nothing readable"),
    ("pkgdocs-unknown", ["batch", "pkgdocs:not-a-pkg-xyz", "--detach"], 2, "not installed"),
    ("graph-unknown", ["batch", CORPUS, "--graph", "nope@9", "--detach"], 2, "nope@9"),
    ("graph-unpinned", ["batch", CORPUS, "--graph", "summarize", "--detach"], 2, "name@version"),
    ("graph-misfit-input", ["batch", CORPUS, "--graph", "researcher@1", "--detach"], 2, "DocumentInput"),
    ("reduce-misfit", ["batch", CORPUS, "--reduce-graph", "summarize@1", "--detach"], 2, "SynthesisInput"),
    ("parallelism-zero", ["batch", CORPUS, "--parallelism", "0", "--detach"], 2, "parallelism"),
    ("model-bogus", ["batch", CORPUS, "--model", "bogus", "--detach"], 2, "--model"),
    ("job-id-dotdot", ["batch", CORPUS, "--job-id", "../x", "--detach"], 2, "job id"),
    ("reuse-unknown", ["batch", CORPUS, "--reuse", "never-ran", "--detach"], 2, "no batch with that id"),
    ("question-too-long", ["batch", CORPUS, "--question", "w " * 2100, "--detach"], 2, "question"),
    ("budget-zero-calls", ["batch", CORPUS, "--max-model-calls", "0", "--detach"], 2, "max_model_calls"),
    ("budget-negative-cost", ["batch", CORPUS, "--max-cost", "-1", "--detach"], 2, "max_cost_usd"),
    ("pause-no-job", ["batch", "pause"], 2, "usage"),
    ("pause-unknown-job", ["batch", "pause", "no-such-batch"], 1, "no such job"),
    ("swap-without-graph", ["batch", "swap-graph", "no-such-batch"], 2, "--graph"),
]


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("batch-battery")
    home, elsewhere, files = root / "state", root / "elsewhere", root / "files"
    for folder in (elsewhere, files, files / "fifos"):
        folder.mkdir()
    os.mkfifo(files / "pipe.md")
    os.mkfifo(files / "fifos" / "a.md")
    (files / "bad-list.txt").write_text("missing-one.md\nmissing-two.md\n")
    cli_json(home, "server", "start")
    try:
        yield {"home": home, "elsewhere": elsewhere, "files": files}
    finally:
        stop_server(home)


@pytest.fixture(scope="module")
def outcomes(stage: dict[str, Path]) -> dict[str, subprocess.CompletedProcess[str]]:
    files = stage["files"]
    names = {"{fifo}": files / "pipe.md", "{fifo_dir}": files / "fifos", "{bad_list}": files / "bad-list.txt"}

    def run(case: tuple[str, list[str], int, str]) -> subprocess.CompletedProcess[str]:
        args = [str(names.get(a, a)).replace("manifest:{bad_list}", f"manifest:{files / 'bad-list.txt'}")
                for a in case[1]]  # fmt: skip
        return subprocess.run(
            [CLI, *args], cwd=stage["elsewhere"], env=cli_env(stage["home"]),
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip([c[0] for c in CASES], pool.map(run, CASES), strict=True))


@pytest.mark.parametrize(("name", "args", "code", "says"), CASES, ids=[c[0] for c in CASES])
def test_bad_batch_input_is_one_clear_line(
    outcomes: dict[str, subprocess.CompletedProcess[str]], name: str, args: list[str], code: int, says: str
) -> None:
    out = outcomes[name]
    errors = [line for line in out.stderr.splitlines() if line.lower().startswith("error:")]
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    assert out.returncode == code, (out.returncode, out.stderr)
    assert len(errors) == 1, out.stderr
    assert says in errors[0], errors[0]


def test_no_batch_was_started_and_nothing_was_written(
    outcomes: dict[str, subprocess.CompletedProcess[str]], stage: dict[str, Path]
) -> None:
    assert len(outcomes) == len(CASES)
    assert not (stage["home"] / "artifacts" / "jobs").exists(), "a bad input wrote a manifest"
    assert list(stage["elsewhere"].iterdir()) == []
