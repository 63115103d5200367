"""Malformed and hostile input through the real CLI: each gets one clear line and starts nothing.

For every case: the exit code (2 for input the user can fix, 1 for a state that refuses it),
exactly one `error:` line and no traceback on stderr, nothing written outside the state
folder, no hang (a timeout fails the case). After all of them: no workflow was started and
the same Temporal server still serves.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_jobs import CLI, CORPUS, QUESTION, cli_env, cli_json, stop_server

# 64 CLI processes, each paying the imports: about a minute on an idle 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

LONG = "word " * 1000  # 5,000 characters: over the 4,000-character question limit


def _env(**values: str) -> dict[str, str]:
    return {f"DURABLE_RESEARCH_{k}": v for k, v in values.items()}


# (name, arguments, extra environment, expected exit code, text the message must contain)
CASES: list[tuple[str, list[str], dict[str, str], int, str]] = [
    # settings from the environment
    ("port-not-a-number", ["jobs"], _env(TEMPORAL_PORT="abc"), 2, "DURABLE_RESEARCH_TEMPORAL_PORT"),
    ("port-negative", ["jobs"], _env(TEMPORAL_PORT="-1"), 2, "DURABLE_RESEARCH_TEMPORAL_PORT"),
    ("port-too-big", ["jobs"], _env(TEMPORAL_PORT="70000"), 2, "<= 65535"),
    ("ui-port-negative", ["server", "status"], _env(UI_PORT="-8233"), 2, "DURABLE_RESEARCH_UI_PORT"),
    ("start-timeout-zero", ["server", "start"], _env(START_TIMEOUT_S="0"), 2, "DURABLE_RESEARCH_START_TIMEOUT_S"),
    ("dynamic-config-not-json", ["jobs"], _env(DYNAMIC_CONFIG="not json"), 2, "not valid JSON"),
    ("memory-mode-bogus", ["search", "x"], _env(MEMORY_MODE="bogus"), 2, "'local', 'http' or 'memory'"),
    ("chunk-size-negative", ["ingest", CORPUS], _env(MEMORY_CHUNK_SIZE="-5"), 2, "DURABLE_RESEARCH_MEMORY_CHUNK_SIZE"),
    ("file-cap-zero", ["jobs"], _env(MEMORY_MAX_FILE_BYTES="0"), 2, "DURABLE_RESEARCH_MEMORY_MAX_FILE_BYTES"),
    ("provider-bogus", ["jobs"], _env(MODEL_PROVIDER="nope"), 2, "DURABLE_RESEARCH_MODEL_PROVIDER"),
    ("temperature-words", ["jobs"], _env(MODEL_TEMPERATURE="hot"), 2, "DURABLE_RESEARCH_MODEL_TEMPERATURE"),
    ("worker-concurrency-zero", ["jobs"], _env(WORKER_REASONING_CONCURRENCY="0"), 2, "REASONING_CONCURRENCY"),
    ("unreachable-address", ["jobs"], {"TEMPORAL_ADDRESS": "127.0.0.1:1"}, 1, "cannot reach Temporal"),
    # the question
    ("no-question", ["run", "--detach"], {}, 2, "question"),
    ("blank-question", ["run", "   ", "--detach"], {}, 2, "question"),
    ("short-question", ["run", "hi", "--detach"], {}, 2, "at least 3"),
    ("long-question-file", ["run", "--question-file", "{long}", "--detach"], {}, 2, "at most 4000"),
    ("question-file-missing", ["run", "--question-file", "no/such/file", "--detach"], {}, 2, "--question-file"),
    ("question-twice", ["run", QUESTION, "--question-file", "{long}", "--detach"], {}, 2, "not both"),
    # job ids
    ("id-dotdot", ["run", QUESTION, "--job-id", "../x", "--detach"], {}, 2, "job id"),
    ("id-slash", ["run", QUESTION, "--job-id", "a/b", "--detach"], {}, 2, "job id"),
    ("id-space", ["run", QUESTION, "--job-id", "has space", "--detach"], {}, 2, "job id"),
    ("id-unicode", ["run", QUESTION, "--job-id", "ünï", "--detach"], {}, 2, "job id"),
    ("id-300-chars", ["run", QUESTION, "--job-id", "x" * 300, "--detach"], {}, 2, "1-100 characters"),
    ("id-leading-dash", ["run", QUESTION, "--job-id", "-x", "--detach"], {}, 2, ""),
    # corpus
    ("corpus-missing", ["run", QUESTION, "--corpus", "no/such/folder", "--detach"], {}, 2, "does not exist"),
    ("corpus-pkgdocs-empty", ["run", QUESTION, "--corpus", "pkgdocs:", "--detach"], {}, 2, "names no package"),
    (
        "corpus-pkgdocs-unknown",
        ["run", QUESTION, "--corpus", "pkgdocs:not-a-pkg-xyz", "--detach"],
        {},
        2,
        "not installed",
    ),
    ("corpus-fifo", ["run", QUESTION, "--corpus", "{fifo}", "--detach"], {}, 2, "FIFO"),
    ("corpus-dev-zero", ["run", QUESTION, "--corpus", "/dev/zero", "--detach"], {}, 2, "character device"),
    ("corpus-symlink-loop", ["run", QUESTION, "--corpus", "{loop}", "--detach"], {}, 2, "symlink loop"),
    (
        "corpus-too-big",
        ["run", QUESTION, "--corpus", "{big}", "--detach"],
        _env(MEMORY_MAX_FILE_BYTES="1000"),
        2,
        "cap",
    ),
    ("corpus-blank", ["run", QUESTION, "--corpus", " ", "--detach"], {}, 2, "empty source"),
    # graphs, model, choices
    ("graph-no-equals", ["run", QUESTION, "--graph", "research", "--detach"], {}, 2, "kind=name@version"),
    ("graph-unknown", ["run", QUESTION, "--graph", "research=nope@9", "--detach"], {}, 2, "nope@9"),
    ("graph-unpinned", ["run", QUESTION, "--graph", "research=researcher", "--detach"], {}, 2, "name@version"),
    ("tool-unknown", ["run", QUESTION, "--tool", "research=send_email", "--detach"], {}, 2, "send_email"),
    ("tool-no-equals", ["run", QUESTION, "--tool", "search_memory", "--detach"], {}, 2, "kind=tool"),
    ("tool-kind-without-graph", ["run", QUESTION, "--tool", "other=search_memory", "--detach"], {}, 2, "'other'"),
    ("tools-path-bad", ["run", QUESTION, "--tools", "no_such_module:X", "--detach"], {}, 2, "no_such_module"),
    ("tools-fetch-bytes-zero", ["tools", "list"], _env(TOOLS_FETCH_MAX_BYTES="0"), 2, "FETCH_MAX_BYTES"),
    ("answer-empty", ["answer", "some-job", ""], {}, 2, "answer"),
    ("graphs-bad-module", ["run", QUESTION, "--graphs", "no.such.module:X", "--detach"], {}, 2, "no.such.module"),
    ("model-bogus", ["run", QUESTION, "--model", "bogus", "--detach"], {}, 2, "--model"),
    ("model-name-on-fake", ["run", QUESTION, "--model", "fake:x", "--detach"], {}, 2, "--model"),
    ("approve-maybe", ["run", QUESTION, "--approve", "maybe", "--detach"], {}, 2, "--approve"),
    ("recovery-replay", ["run", QUESTION, "--recovery", "replay", "--detach"], {}, 2, "--recovery"),
    (
        "engine-min-zero",
        ["run", QUESTION, "--ingest-engine-min-documents", "0", "--detach"],
        {},
        2,
        "greater than or equal to 1",
    ),
    (
        "engine-min-words",
        ["run", QUESTION, "--ingest-engine-min-documents", "many", "--detach"],
        {},
        2,
        "valid integer",
    ),
    ("collection-bad-name", ["ingest", CORPUS, "--collection", "a"], {}, 2, "[a-zA-Z0-9._-]"),
    # memory commands
    ("ingest-fifo", ["ingest", "{fifo}"], {}, 2, "FIFO"),
    ("ingest-folder-of-fifos", ["ingest", "{fifo_dir}"], {}, 2, "no text"),
    ("ingest-nothing", ["ingest"], {}, 2, "sources"),
    ("where-no-equals", ["search", "durable", "--where", "nokey"], {}, 2, "KEY=VALUE"),
    ("where-int-too-big", ["search", "durable", "--where", f"n={2**64}"], {}, 2, "between"),
    ("run-empty-folder", ["run", QUESTION, "--corpus", "{empty_dir}", "--detach"], {}, 2, "no readable document"),
    ("run-binary-only", ["run", QUESTION, "--corpus", "{binary_dir}", "--detach"], {}, 2, "no readable document"),
    ("batch-binary-only", ["batch", "{binary_dir}", "--detach"], {}, 2, "no readable document"),
    ("k-zero", ["search", "durable", "-k", "0"], {}, 2, "-k"),
    ("search-empty-query", ["search", "  "], {}, 2, "empty"),
    ("search-unknown-collection", ["search", "durable", "--collection", "never-made"], {}, 2, "does not exist"),
    ("worker-queue-bogus", ["worker", "--queue", "bogus"], {}, 2, "--queue"),
    ("graphs-list-bad-load", ["graphs", "list", "--load", "nope:x"], {}, 2, "nope"),
    # budgets and prices
    ("max-tokens-zero", ["run", QUESTION, "--max-tokens", "0", "--detach"], {}, 2, "budget.max_tokens"),
    ("max-cost-negative", ["run", QUESTION, "--max-cost", "-1", "--detach"], {}, 2, "budget.max_cost_usd"),
    ("budget-no-limit", ["budget", "no-such-job"], {}, 2, "at least one new limit"),
    ("budget-zero", ["budget", "no-such-job", "--max-model-calls", "0"], {}, 2, "invalid budget"),
    ("price-table-missing", ["worker"], _env(PRICE_TABLE="no/such/prices.json"), 2, "price table"),
    ("price-table-not-json", ["run", QUESTION], _env(PRICE_TABLE=f"{CORPUS}/temporal.md"), 2, "is not JSON"),
    ("metrics-port-words", ["worker"], _env(METRICS_PORT="abc"), 2, "DURABLE_RESEARCH_METRICS_PORT"),
    # commands on jobs that do not exist
    ("status-unknown-job", ["status", "no-such-job"], {}, 1, "no such job"),
    ("approve-unknown-job", ["approve", "no-such-job"], {}, 1, "no such job"),
    ("revise-without-notes", ["revise", "no-such-job"], {}, 2, "--notes"),
    ("watch-unknown-job", ["watch", "no-such-job"], {}, 2, "no job named 'no-such-job'"),
    ("watch-negative-from", ["watch", "no-such-job", "--from", "-1"], {}, 2, "--from"),
    ("watch-bad-job-id", ["watch", "../x"], {}, 2, "job id"),
]


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A state folder with a running server, a working folder outside it, and hostile files."""
    root = tmp_path_factory.mktemp("battery")
    home, elsewhere, files = root / "state", root / "elsewhere", root / "files"
    for folder in (elsewhere, files, files / "fifos", files / "empty", files / "binary"):
        folder.mkdir()
    (files / "binary" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (files / "binary" / "notes.md").write_bytes(b"\x00\x01\x02 not text")
    os.mkfifo(files / "pipe.md")
    os.mkfifo(files / "fifos" / "a.md")
    os.symlink(files / "loop-b", files / "loop-a")
    os.symlink(files / "loop-a", files / "loop-b")
    (files / "long.txt").write_text(LONG)
    (files / "big.md").write_text("x " * 2000)
    started = cli_json(home, "server", "start")
    try:
        yield {"home": home, "elsewhere": elsewhere, "files": files, "pid": Path(str(started["pid"]))}
    finally:
        stop_server(home)


def _args(args: list[str], files: Path) -> list[str]:
    names = {
        "{fifo}": files / "pipe.md", "{fifo_dir}": files / "fifos", "{loop}": files / "loop-a",
        "{long}": files / "long.txt", "{big}": files / "big.md",
        "{empty_dir}": files / "empty", "{binary_dir}": files / "binary",
    }  # fmt: skip
    return [str(names.get(a, a)) for a in args]


@pytest.fixture(scope="module")
def outcomes(stage: dict[str, Path]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case run as its own `durable-research` process, a few at a time (each pays the imports)."""

    def run(case: tuple[str, list[str], dict[str, str], int, str]) -> subprocess.CompletedProcess[str]:
        _, args, env, _, _ = case
        return subprocess.run(
            [CLI, *_args(args, stage["files"])],
            cwd=stage["elsewhere"], env=cli_env(stage["home"], **env),
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip([c[0] for c in CASES], pool.map(run, CASES), strict=True))


@pytest.mark.parametrize(("name", "args", "env", "code", "says"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(
    outcomes: dict[str, subprocess.CompletedProcess[str]],
    stage: dict[str, Path],
    name: str,
    args: list[str],
    env: dict[str, str],
    code: int,
    says: str,
) -> None:
    out = outcomes[name]
    errors = [line for line in out.stderr.splitlines() if line.lower().startswith("error:")]
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    assert out.returncode == code, (out.returncode, out.stderr)
    assert len(errors) == 1, out.stderr
    assert says in errors[0], errors[0]
    assert list(stage["elsewhere"].iterdir()) == [], "something was written outside the state folder"


def test_nothing_started_and_the_server_still_serves(
    outcomes: dict[str, subprocess.CompletedProcess[str]], stage: dict[str, Path]
) -> None:
    assert len(CASES) >= 40
    assert cli_json(stage["home"], "jobs") == [], "a bad input started a workflow"
    status = cli_json(stage["home"], "server", "status")
    assert status["running"] and str(status["pid"]) == str(stage["pid"])
    assert not (stage["home"] / "artifacts" / "jobs").exists()
