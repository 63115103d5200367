"""What the call log costs per model call, against the same graph without it, in one run.

Run: ``.venv/bin/python -m experiments.benchmarks.call_log_bench [--profile quick|full]``.

A one-node graph makes `CALLS` sequential calls to the fake model (no latency: what is left is
the graph's and the log's own CPU). Three arms run in turn, interleaved, each on a fresh thread
of its own: without the log (`CheckpointConfig.call_log=False`), with the log on a new thread (every
call a miss: look up, call, store before returning) and a replay of a finished thread (every call
a hit, no model call). Per-call time is a run's wall time over its calls; the overhead is the
difference of per-call medians (p50) and of 95th percentiles against the arm without the log,
so the number is a ratio to a limit measured in the same run, on the same machine and load.
A second table does the same on Postgres when a server URL is given (`--postgres-url`).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import typer
from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from reasoning import CheckpointConfig, FakeChatModel, GraphContext, GraphSpec, ResearchInput, Subtask, run_graph
from reasoning.graphs._common import context_of
from reasoning.types import Finding

RESULTS_FILE = Path(__file__).parent / "results" / "call_log.json"
CALLS = 20
PROFILES = {"quick": 8, "full": 60}  # runs per arm


def _ask_many(state: dict[str, Any], runtime: Runtime[GraphContext]) -> dict[str, Any]:
    model, question = context_of(runtime).model, state["subtask"]["question"]
    replies = [str(model.invoke([HumanMessage(content=f"{question} #{i}")]).content) for i in range(CALLS)]
    finding = {"subtask_id": state["subtask"]["id"], "question": question, "answer": replies[-1]}
    return {**state, **finding, "claims": [], "citations": []}


def _graph() -> StateGraph[Any, Any, Any, Any]:
    graph: StateGraph[Any, Any, Any, Any] = StateGraph(dict, context_schema=GraphContext)
    graph.add_node("ask", _ask_many)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph


SPEC = GraphSpec("call-log-bench", "1", _graph, ResearchInput, Finding, f"{CALLS} sequential calls in one node.")
INPUT = ResearchInput(subtask=Subtask(id="s1", kind="research", question="What does a call cost?"))


def _run(config: CheckpointConfig, thread: str) -> float:
    context = GraphContext(retriever=_NoEvidence(), model=FakeChatModel())
    started = time.perf_counter()
    run_graph(SPEC, INPUT, context=context, thread_id=thread, checkpoint=config, attempt=1)
    return (time.perf_counter() - started) / CALLS


class _NoEvidence:
    def retrieve(self, query: str, k: int = 5) -> list[Any]:
        return []


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 4),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 4),
    }


def measure(store: dict[str, Any], runs: int) -> dict[str, Any]:
    """Per-call times of the three arms on one store (`store`: CheckpointConfig fields)."""
    off = CheckpointConfig(**store, call_log=False)
    on = CheckpointConfig(**store)
    samples: dict[str, list[float]] = {"without_log": [], "log_miss": [], "log_replay": []}
    for _ in range(2):  # warm-up: imports, compiled SQL, the job's database file
        thread = f"bench/warm-{uuid.uuid4().hex[:8]}/act"
        _run(off, thread), _run(on, thread)
    for _ in range(runs):  # threads of one job: one database, as a job's subtasks share theirs
        thread = f"bench/{uuid.uuid4().hex[:8]}/act"
        samples["without_log"].append(_run(off, f"{thread}-off"))
        samples["log_miss"].append(_run(on, thread))
        samples["log_replay"].append(_run(on, thread))  # the same thread again: every call from the log
    arms = {name: _stats(values) for name, values in samples.items()}
    base = arms["without_log"]
    for name in ("log_miss", "log_replay"):
        arms[name]["overhead_p50_ms"] = round(arms[name]["p50_ms"] - base["p50_ms"], 4)
        arms[name]["overhead_p95_ms"] = round(arms[name]["p95_ms"] - base["p95_ms"], 4)
        arms[name]["ratio_p50"] = round(arms[name]["p50_ms"] / base["p50_ms"], 2)
    return arms


def run(profile: str, folder: Path, postgres_url: str | None = None) -> dict[str, Any]:
    runs = PROFILES[profile]
    out: dict[str, Any] = {"calls_per_run": CALLS, "runs_per_arm": runs, "load_before": round(os.getloadavg()[0], 2)}
    out["sqlite"] = measure({"sqlite_dir": folder / "checkpoints"}, runs)
    if postgres_url:
        out["postgres"] = measure({"postgres_url": postgres_url}, runs)
    out["load_after"] = round(os.getloadavg()[0], 2)
    return out


def readme_lines(result: dict[str, Any]) -> list[str]:
    """The lines the docs quote (one per store and arm)."""
    lines = []
    for store in ("sqlite", "postgres"):
        if store not in result:
            continue
        base = result[store]["without_log"]
        for arm, label in (("log_miss", "a new call (look up, call, store)"), ("log_replay", "a replayed call")):
            a = result[store][arm]
            lines.append(
                f"| {store} | {label} | {a['p50_ms']:.3f} / {a['p95_ms']:.3f} | "
                f"{base['p50_ms']:.3f} / {base['p95_ms']:.3f} | {a['overhead_p50_ms']:+.3f} / "
                f"{a['overhead_p95_ms']:+.3f} | {a['ratio_p50']:.2f}x |"
            )
    return lines


def main(
    profile: str = typer.Option("full", help="quick (CI) or full."),
    postgres_url: str | None = typer.Option(None, help="Also measure the Postgres log on this server."),
    write: bool = typer.Option(False, help=f"Write the result to {RESULTS_FILE.name}."),
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = run(profile, Path(folder), postgres_url)
    print(json.dumps(result, indent=2))
    print("\n".join(readme_lines(result)))
    if write:
        RESULTS_FILE.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    typer.run(main)
