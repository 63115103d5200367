"""The model stub is content-addressed across calls and logs arm, run, hash and attempt."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "calls.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.recovery.stub", "--port", "0",
         "--latency-ms", "20", "--log", str(log)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    port = int(proc.stdout.readline().split()[1])
    yield f"http://127.0.0.1:{port}/v1", log
    proc.kill()
    proc.wait()
    proc.stdout.close()


def _model(url: str, run: str) -> ChatOpenAI:
    return ChatOpenAI(
        model="stub", base_url=url, api_key="stub", max_retries=0,  # type: ignore[arg-type]
        default_headers={"X-Recovery-Arm": "t", "X-Recovery-Run": run},
    )  # fmt: skip


def test_same_prompt_same_reply_and_attempts_are_counted(stub: tuple[str, Path]) -> None:
    url, log = stub
    first = _model(url, "r1").invoke("What survives a crash?")
    again = _model(url, "r1").invoke("What  survives a crash?")  # same after normalising
    other = _model(url, "r1").invoke("Something else")
    assert first.content == again.content != other.content
    assert first.usage_metadata == again.usage_metadata
    time.sleep(0.1)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["attempt"] for c in calls] == [1, 2, 1]
    assert {c["run"] for c in calls} == {"r1"} and {c["arm"] for c in calls} == {"t"}
    assert calls[0]["hash"] == calls[1]["hash"] != calls[2]["hash"]
    assert all(c["t_end"] - c["t_begin"] >= 0.01 for c in calls)
