"""The workload registered for the product's subtask activity (A2, A3) is the same workload:
run through `reasoning.runner` with the product's OpenAI-compatible model pointed at the stub,
it gives the answer the local arms get, as a `Finding`, and the stub attributes every call to
the run and the process that made it (what the controller's kills rely on)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from experiments.recovery import workload
from experiments.recovery.graph_exec import run_graph_once
from experiments.recovery.subtask_graph import SUBTASK_KIND, WORKLOAD_GRAPH, workload_registry
from reasoning.context import GraphContext, MemoryRetriever
from reasoning.models import ModelSettings, make_chat_model
from reasoning.runner import arun_graph
from reasoning.types import Finding, ResearchInput, Subtask
from retrieval import MemorySettings, open_memory

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "calls.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.recovery.stub", "--port", "0", "--latency-ms", "5", "--log", str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline().split()[1])
    yield f"http://127.0.0.1:{port}/v1", log
    proc.kill()
    proc.wait()
    proc.stdout.close()


def _calls(log: Path, run: str) -> list[dict[str, object]]:
    time.sleep(0.05)  # a call is logged right after its reply is sent
    return [c for c in map(json.loads, log.read_text().splitlines()) if c["run"] == run]


async def test_product_path_gives_the_local_answer_and_tags_every_call(
    stub: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, log = stub
    monkeypatch.setenv(workload.ENV_ARM, "A2")
    monkeypatch.setenv(workload.ENV_RUNS_DIR, str(tmp_path / "runs"))
    monkeypatch.delenv(workload.ENV_EVENTS, raising=False)
    spec = workload_registry().get(WORKLOAD_GRAPH)
    model = make_chat_model(ModelSettings(provider="openai", base_url=url, name="stub"))
    context = GraphContext(
        retriever=MemoryRetriever(open_memory(MemorySettings(mode="memory"), "recovery-test")), model=model
    )
    subtask = Subtask(id="A2-run1", kind=SUBTASK_KIND, question=workload.QUESTION)

    run = await arun_graph(spec, ResearchInput(subtask=subtask, notes="ignored"), context=context)

    finding = Finding.model_validate(run.output)
    assert finding.subtask_id == "A2-run1" and finding.question == workload.QUESTION
    assert [c.text.split(":")[0] for c in finding.claims] == sorted(workload.ASPECTS)
    assert len(finding.evidence) == 3  # the corpus passages retrieved, not the reader's pick
    product_calls = _calls(log, "A2-run1")
    assert len(product_calls) == run.model_calls >= 9
    assert {(c["arm"], c["pid"]) for c in product_calls} == {("A2", os.getpid())}
    assert (tmp_path / "runs" / "A2-run1" / "ledger.sqlite").exists()  # the workload's own side effect

    local_dir = tmp_path / "local"
    local_context = workload.RunContext(
        arm="A0", run="A0-run1", stub_url=url, events="", memory_dir=str(local_dir / "memory"),
        ledger_path=str(local_dir / "ledger.sqlite"), use_tasks=False,
    )  # fmt: skip
    local, _ = run_graph_once(local_context, mode="restart", checkpoint_path=None, thread_id="t")
    assert workload.answer_hash(finding.answer) == workload.answer_hash(local["answer"])
    # The same prompts (the four analysts run in parallel, so their start order may differ).
    assert sorted(c["hash"] for c in _calls(log, "A0-run1")) == sorted(c["hash"] for c in product_calls)
