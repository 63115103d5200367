"""Helpers for the `durable-research` job-command tests (no tests here).

Each test gets its own state folder and its own dev server on free ports, the fake
model and in-process semantic memory; `stop_server` is called at the end of each test.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from reasoning import Finding, GraphContext, GraphSpec, ResearchInput

CLI = str(Path(sys.executable).parent / "durable-research")
CORPUS = str(Path(__file__).parent.parent / "data" / "corpus")
QUESTION = "How do Temporal and LangGraph make long AI jobs durable?"


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "DURABLE_"))}
    return env | {
        "DURABLE_RESEARCH_HOME": str(home),
        "DURABLE_RESEARCH_TEMPORAL_PORT": "0",
        "DURABLE_RESEARCH_UI_PORT": "0",
        "DURABLE_RESEARCH_MEMORY_MODE": "memory",
        "DURABLE_RESEARCH_MODEL_PROVIDER": "fake",
        "DURABLE_RESEARCH_MODEL_FAKE_CALL_LOG": str(home / "calls.jsonl"),
        # so `--graphs tests.support.cli_jobs:QUOTER` imports in the CLI
        "PYTHONPATH": str(Path(__file__).parents[2]),
        **extra,
    }


def cli(home: Path, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=cli_env(home, **env), capture_output=True, text=True, timeout=timeout)


def cli_json(home: Path, *args: str, **env: str) -> Any:
    out = cli(home, *args, "--json", **env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@contextlib.contextmanager
def worker_process(home: Path, *args: str, **env: str) -> Iterator[subprocess.Popen[str]]:
    """A `durable-research worker` process, yielded once it says it is ready; killed if still up."""
    proc = subprocess.Popen(
        [CLI, "worker", *args], env=cli_env(home, **env), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "worker ready" in line, f"worker did not start: {line}"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def wait_for(predicate: Any, timeout_s: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def stop_server(home: Path) -> None:
    cli(home, "server", "stop", timeout=30)


def _quote(state: dict[str, Any], runtime: Runtime[GraphContext]) -> dict[str, Any]:
    task = state["subtask"]
    hits = runtime.context.retriever.retrieve(task["question"], k=1)
    cites = [{"chunk_id": h.chunk_id, "source": h.source, "quote": h.text[:80]} for h in hits]
    return {
        "subtask_id": task["id"], "question": task["question"], "provider": "quoter",
        "answer": "QUOTER: " + " ".join(c["quote"] for c in cites),
        "claims": [{"text": c["quote"], "citations": [c["chunk_id"]]} for c in cites],
        "citations": cites,
    }  # fmt: skip


def _make_quoter() -> StateGraph[Any, Any, Any, Any]:
    graph: StateGraph[Any, Any, Any, Any] = StateGraph(dict, context_schema=GraphContext)
    graph.add_node("quote", _quote)
    graph.add_edge(START, "quote")
    graph.add_edge("quote", END)
    return graph


# Not registered on import: only `--graphs tests.support.cli_jobs:QUOTER` adds it.
QUOTER = GraphSpec("quoter", "1", _make_quoter, ResearchInput, Finding, "Quote the best chunk.")
