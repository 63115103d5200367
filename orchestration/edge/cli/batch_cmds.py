"""`batch SOURCE...` (run a graph over every document, reduce, approve, publish) and
`batch pause|resume|retry-failed|swap-graph JOB`; `status` and `cancel` serve batches too (batch_view).

`batch` takes sources as arguments, so its actions are recognised by their first word: a
folder named like an action is given as `./pause`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer
from pydantic import ValidationError
from rich.live import Live
from rich.markdown import Markdown
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from orchestration.activities import WorkerDeps
from orchestration.activities.manifest import ManifestSummary
from orchestration.batch_client import BatchClient, BatchHandle
from orchestration.client import JobEndedError, connect
from orchestration.edge.batch import check_batch, new_batch_id, start_batch
from orchestration.edge.cli.context import env
from orchestration.edge.cli.context import settings as settings_of
from orchestration.edge.cli.job_cmds import _clean_errors, _deps, _sdk_logs_to_file
from orchestration.edge.cli.job_support import (
    BUDGET_WAIT_S,
    MAX_COST,
    MAX_MODEL_CALLS,
    MAX_TOKENS,
    budget_fields,
    load_graphs,
    model_choice,
    pydantic_problems,
)
from orchestration.edge.cli.output import bad_input, console, emit_json, err_console, fail
from orchestration.edge.env import Environment
from orchestration.edge.live_view import WaitPrompts
from orchestration.settings import OrchestrationSettings
from orchestration.shared.batch import BatchProgress, BatchResult, BatchSpec
from orchestration.shared.spec import check_job_id
from orchestration.worker import WorkerGroup, build_workers
from reasoning import GraphRegistry

ACTIONS = ("pause", "resume", "retry-failed", "swap-graph")


def batch(
    ctx: typer.Context,
    sources: list[str] = typer.Argument(
        None, help="Folders, files, pkgdocs:PKG or manifest:FILE; or an action: pause|resume|retry-failed JOB."
    ),
    graph: str | None = typer.Option(None, "--graph", help="Per-document graph, name@version (summarize@1)."),
    reduce_graph: str = typer.Option("synthesize@1", "--reduce-graph", help="Reduce graph, name@version."),
    question: str = typer.Option("", "--question", help="Asked of every document and of the reduction."),
    model: str = typer.Option("extractive", "--model", help="extractive, fake, openai or openai:MODEL."),
    parallelism: int = typer.Option(4, "--parallelism", help="Shards running at once."),
    job_id: str | None = typer.Option(None, "--job-id", help="Batch id (default: batch-<hex>)."),
    approve: Literal["auto", "wait"] = typer.Option("auto", "--approve", help="auto: publish at once; wait: ask."),
    reuse: str | None = typer.Option(None, "--reuse", help="Reuse results of an earlier batch for equal content."),
    graphs_from: list[str] = typer.Option([], "--graphs", help="Load graphs from module:attr first."),
    detach: bool = typer.Option(False, "--detach", help="Start and return; a `worker` runs it."),
    max_tokens: int | None = MAX_TOKENS,
    max_cost: float | None = MAX_COST,
    max_model_calls: int | None = MAX_MODEL_CALLS,
    budget_wait_s: float | None = BUDGET_WAIT_S,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Run a graph over every document of the sources, reduce the results into one report."""
    sources = list(sources or [])
    if sources and sources[0] in ACTIONS:
        _action(ctx, sources, graph, as_json)
        return
    if not sources:
        bad_input("give at least one SOURCE: a folder, a file, pkgdocs:PACKAGE or manifest:FILE")
    try:
        if job_id is not None:
            check_job_id(job_id)
        spec = BatchSpec.model_validate(
            {
                "graph": graph or "summarize@1", "reduce_graph": reduce_graph, "question": question,
                "model": model_choice(model).model_dump(), "parallelism": parallelism, "reuse_job": reuse,
                "approval": {"required": approve == "wait"},
                "budget": budget_fields(max_tokens, max_cost, max_model_calls, budget_wait_s),
            }
        )  # fmt: skip
    except ValidationError as exc:
        bad_input("invalid batch: " + pydantic_problems(exc))
    except ValueError as exc:
        bad_input(str(exc))
    _clean_errors(_batch)(env(ctx), spec, sources, job_id, graphs_from, detach, as_json)


async def _batch(
    environment: Environment, spec: BatchSpec, sources: list[str], job_id: str | None,
    graphs: list[str], detach: bool, as_json: bool,
) -> None:  # fmt: skip
    settings = environment.orchestration
    registry = load_graphs(graphs)
    home = settings.home.expanduser().resolve()
    deps = _deps(environment, home, registry)
    job_id = job_id or new_batch_id()
    check_batch(spec, registry, job_id, deps.artifacts)  # before the server or anything else starts
    client = await connect(settings)
    batches = BatchClient(client, queues=settings.task_queues())
    if detach:
        handle, summary = await _start(batches, spec, sources, deps, registry, job_id)
        emit_json({"job_id": handle.job_id, "documents": summary.total}) if as_json else console.print(handle.job_id)
        return
    _sdk_logs_to_file(home / "worker.log")
    workers = build_workers(client, deps, queues=batches.queues, settings=environment.worker, warm_pool=True)
    async with WorkerGroup(workers):
        handle, summary = await _start(batches, spec, sources, deps, registry, job_id)
        if not as_json:
            err_console.print(f"batch {handle.job_id}: {summary.total} documents ({summary.readable} readable)")
        await _watch(handle, live=not as_json)
        try:
            result = await handle.result()
        except JobEndedError as exc:
            fail(f"{exc}\nThe worker's log: {home / 'worker.log'}")
    _print_result(result, deps.artifacts.root, as_json)


async def _start(
    batches: BatchClient, spec: BatchSpec, sources: list[str], deps: WorkerDeps, registry: GraphRegistry, job_id: str
) -> tuple[BatchHandle, ManifestSummary]:
    return await start_batch(
        batches, spec, sources, store=deps.artifacts, memory=deps.memory_settings, registry=registry, job_id=job_id
    )


async def _watch(handle: BatchHandle, *, live: bool) -> None:
    if not live:
        async for _ in handle.watch(interval_s=0.5):
            pass
        return
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=console)  # fmt: skip
    task = bar.add_task("analysing", total=None, rate="")
    prompts = WaitPrompts()
    with Live(bar, console=console, refresh_per_second=4):
        async for p in handle.watch(interval_s=0.5):
            label = f"{p.phase}{' (paused)' if p.paused else ''}"
            rate = f"{p.docs_per_s:.1f} docs/s" if p.docs_per_s else ""
            bar.update(task, description=label, completed=p.done + p.failed, total=p.total, rate=rate)
            for text in prompts.new(p):
                console.print(text, markup=False, highlight=False)


def _print_result(result: BatchResult, root: Path, as_json: bool) -> None:
    path = root / result.report.key if result.report else None
    if as_json:
        emit_json(result.model_dump(mode="json") | {"report_path": str(path) if path else None})
    else:
        console.print(f"Batch {result.job_id}: [bold]{result.status}[/] - {result.done}/{result.total} done, "
                      f"{result.failed} failed, {result.reused} reused; spent {result.usage.line()}",
                      highlight=False)  # fmt: skip
        if path and path.exists():
            console.print(f"Report: {path}\n", highlight=False)
            console.print(Markdown(path.read_text(encoding="utf-8")))
    if result.status != "completed":
        raise typer.Exit(1)


# --- actions on a running batch ---------------------------------------------------


def _action(ctx: typer.Context, words: list[str], graph: str | None, as_json: bool) -> None:
    action, rest = words[0], words[1:]
    if len(rest) != 1:
        bad_input(
            f"usage: durable-research batch {action} JOB" + (" --graph name@version" if action == "swap-graph" else "")
        )
    if action == "swap-graph" and not graph:
        bad_input("swap-graph needs --graph name@version")
    _clean_errors(_act)(settings_of(ctx), action, rest[0], graph, as_json)


async def _act(settings: OrchestrationSettings, action: str, job: str, graph: str | None, as_json: bool) -> None:
    client = await connect(settings, start_server=False)
    handle = BatchClient(client, queues=settings.task_queues()).attach(job)
    await handle.handle.describe()  # an unknown id fails here, with NOT_FOUND
    if action == "swap-graph":
        from reasoning import check_batch_graph

        check_batch_graph(load_graphs([]), graph or "", "document")
    call = {"pause": handle.pause, "resume": handle.resume, "retry-failed": handle.retry_failed,
            "swap-graph": lambda: handle.swap_graph(graph or "")}[action]  # fmt: skip
    answer = await call()
    if as_json:
        emit_json(answer.model_dump(mode="json") if isinstance(answer, BatchProgress) else {"count": answer})
    else:
        console.print(f"{action}: accepted by batch {job}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)
