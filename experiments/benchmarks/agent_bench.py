"""A deep-researcher job end to end: tool calls, model calls, tokens, seconds, against the graph alone.

Run: ``.venv/bin/python -m experiments.benchmarks.agent_bench [--profile quick|full] [--write]``.

On a private dev server with in-process workers, a research job whose subtasks run
`deep-researcher@1` (tools: `search_memory`, `fetch_url` on a small local "web", `read_document`)
over the installed LangGraph's documentation, with the fake model sleeping `latency` a call as a
remote model waits. The same subtask's graph also runs alone, in this process, with no Temporal:
the job's seconds over the graph's are what the whole job adds around one subtask's graph (its
subtasks run in parallel; ingest, the plan and write model calls and publishing are in the job's
seconds too, so the ratio is an upper bound on what the orchestration costs).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from experiments.benchmarks.private_server import private_server
from orchestration.activities import WorkerDeps
from orchestration.client import ResearchClient
from orchestration.edge.notebook_process import FolderServer
from orchestration.shared import TaskQueues, Tuning
from orchestration.worker import WorkerGroup, WorkerSettings, build_workers
from reasoning import (
    CheckpointConfig,
    GraphContext,
    MemoryRetriever,
    ResearchInput,
    Subtask,
    default_registry,
    run_graph,
)
from reasoning.models import ModelSettings, make_chat_model
from reasoning.tools import ToolContext, ToolSettings, default_tools
from retrieval import MemorySettings

RESULTS_FILE = Path(__file__).parent / "results" / "agent.json"
WEB = Path(__file__).parents[2] / "tests" / "data" / "web"
TOOLS = ["search_memory", "fetch_url", "read_document"]
PROFILES = {"quick": {"latency_s": 0.05, "subtasks": 1}, "full": {"latency_s": 0.5, "subtasks": 2}}


def _question(base_url: str) -> str:
    return (
        "How do LangGraph checkpoints and a call log keep an agent from repeating work after a crash? "
        f"See {base_url}/durable-agents.html and {base_url}/checkpoints-vs-history.html"
    )


def _deps(home: Path, latency_s: float) -> WorkerDeps:
    home.mkdir(parents=True, exist_ok=True)
    return WorkerDeps(
        home=home,
        memory_settings=MemorySettings(mode="memory"),  # type: ignore[call-arg]
        model_settings=ModelSettings(provider="fake", fake_latency_s=latency_s),
        registry=default_registry,
        checkpoint=CheckpointConfig(sqlite_dir=home / "checkpoints"),
        tool_settings=ToolSettings(fetch_allow_private=True),  # the local "web" is on loopback
    )


async def _job(home: Path, base_url: str, profile: dict[str, Any]) -> dict[str, Any]:
    deps = _deps(home, profile["latency_s"])
    queues = TaskQueues(workflows="agent-wf", reasoning="agent-rs", io="agent-io")
    async with private_server(home / "server") as (client, _):
        workers = build_workers(client, deps, queues=queues, settings=WorkerSettings(graceful_shutdown_s=2))
        async with WorkerGroup(workers):
            jobs = ResearchClient(client, queues=queues, tuning=Tuning(retry_initial_s=0.2), artifacts=deps.artifacts)
            spec = {
                "question": _question(base_url), "corpus": ["pkgdocs:langgraph"], "model": {"provider": "fake"},
                "graphs": {"research": "deep-researcher@1"}, "tools": {"research": TOOLS},
                "max_subtasks": profile["subtasks"], "validation_rounds": 0, "approval": {"required": False},
            }  # fmt: skip
            started = time.perf_counter()
            result = await (await jobs.start(spec)).result()
            seconds = time.perf_counter() - started
    research = result.usage_by_phase["researching"]
    return {
        "status": result.status, "seconds": round(seconds, 2), "subtasks": len(result.subtasks),
        "tool_calls": sum(t.result.tool_calls for t in result.subtasks if t.result),
        "model_calls": result.usage.model_calls, "tokens": result.usage.tokens,
        "research_model_calls": research.model_calls, "research_tokens": research.tokens,
        "citations": sum(t.result.citations for t in result.subtasks if t.result),
    }  # fmt: skip


def _graph_alone(home: Path, base_url: str, latency_s: float) -> dict[str, Any]:
    """The subtask's graph in this process, no Temporal: its tool calls, model calls and seconds."""
    from retrieval import ingest, open_memory

    settings = MemorySettings(mode="memory")  # type: ignore[call-arg]
    memory = open_memory(settings, "agent-alone", home=home)
    ingest(["pkgdocs:langgraph"], memory, settings=settings)
    model = make_chat_model(ModelSettings(provider="fake", fake_latency_s=latency_s))
    tool_context = ToolContext(
        retriever=MemoryRetriever(memory), model=model, settings=ToolSettings(fetch_allow_private=True)
    )
    tools = [default_tools.get(name).build(tool_context) for name in TOOLS]
    context = GraphContext(retriever=MemoryRetriever(memory), model=model, tools=tools)
    subtask = ResearchInput(subtask=Subtask(id="s1", kind="research", question=_question(base_url)))
    started = time.perf_counter()
    run = run_graph(default_registry.get("deep-researcher@1"), subtask, context=context)
    return {
        "seconds": round(time.perf_counter() - started, 2), "tool_calls": run.tool_calls,
        "model_calls": run.model_calls, "tokens": run.tokens,
    }  # fmt: skip


def run(profile_name: str, folder: Path) -> dict[str, Any]:
    profile = PROFILES[profile_name]
    out: dict[str, Any] = {
        "profile": profile_name,
        **profile,
        "tools": TOOLS,
        "load_before": round(os.getloadavg()[0], 2),
    }
    with FolderServer(WEB) as web:
        out["graph_alone"] = _graph_alone(folder / "alone", web.url, profile["latency_s"])
        out["job"] = asyncio.run(_job(folder / "job", web.url, profile))
    out["load_after"] = round(os.getloadavg()[0], 2)
    # Subtasks run in parallel: the job takes about ingest + plan + one subtask + write.
    out["job_over_graph_alone"] = round(out["job"]["seconds"] / out["graph_alone"]["seconds"], 2)
    return out


def readme_line(result: dict[str, Any]) -> str:
    job, alone = result["job"], result["graph_alone"]
    return (
        f"| {result['latency_s']:g} s | {job['subtasks']} | {job['tool_calls']} | {job['model_calls']} | "
        f"{job['tokens']:,} | {job['citations']} | {job['seconds']:.1f} s | {alone['seconds']:.1f} s "
        f"({alone['tool_calls']} tools, {alone['model_calls']} model calls) | "
        f"{result['job_over_graph_alone']:.2f}x |"
    )


def main(
    profile: str = typer.Option("full", help="quick (CI) or full."),
    write: bool = typer.Option(False, help=f"Write the result to {RESULTS_FILE.name}."),
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = run(profile, Path(folder))
    print(json.dumps(result, indent=2))
    print(readme_line(result))
    if write:
        RESULTS_FILE.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    typer.run(main)
