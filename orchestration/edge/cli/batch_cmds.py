"""`batch`: `batch run SOURCE...` runs a graph over every document, reduces, approves, publishes;
`batch pause|resume|retry-failed|swap-graph JOB` steer a running batch. `status`, `result`,
`cancel`, `approve`, `reject`, `revise` and `budget` serve batches too (job_cmds).

`batch SOURCE...` (without `run`) is how batches were first started and still works: a first
word that names no sub-command runs `run` (`_RunByDefault`), so a folder named like one is given
as `./pause`.
"""

from __future__ import annotations

from typing import Any, Literal

import typer
from pydantic import ValidationError
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from typer.core import TyperGroup

from orchestration.activities import WorkerDeps
from orchestration.activities.manifest import ManifestSummary
from orchestration.batch_client import BatchClient, BatchHandle
from orchestration.client import JobEndedError, connect
from orchestration.edge.batch import check_batch, new_batch_id, start_batch
from orchestration.edge.cli.batch_view import print_batch_result
from orchestration.edge.cli.context import env
from orchestration.edge.cli.context import settings as settings_of
from orchestration.edge.cli.job_support import (
    BUDGET_WAIT_S,
    MAX_COST,
    MAX_MODEL_CALLS,
    MAX_TOKENS,
    MODEL,
    budget_fields,
    given,
    load_graphs,
    model_choice,
    pydantic_problems,
    spec_default,
)
from orchestration.edge.cli.output import bad_input, console, emit_json, err_console, fail
from orchestration.edge.cli.runner import clean_errors, sdk_logs_to_file, worker_deps
from orchestration.edge.env import Environment
from orchestration.edge.live_view import WaitPrompts
from orchestration.settings import OrchestrationSettings
from orchestration.shared.batch import BatchProgress, BatchSpec
from orchestration.shared.spec import check_job_id
from orchestration.worker import WorkerGroup, build_workers
from reasoning import GraphRegistry

ACTIONS = ("pause", "resume", "retry-failed", "swap-graph")
_JSON = typer.Option(False, "--json", help="Machine-readable output.")
_BATCH_ID = typer.Argument(None, metavar="JOB", help="The batch id.", show_default=False)


class _RunByDefault(TyperGroup):
    """`batch SOURCE... [OPTIONS]` is `batch run SOURCE... [OPTIONS]`: the form users, scripts and
    notebooks have always typed, so it must keep working now that `batch` has sub-commands."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["run", *args]
        return super().parse_args(ctx, args)


batch_app = typer.Typer(
    cls=_RunByDefault,
    help="Batches: one graph over every document of some sources, reduced into one report. "
    "`batch SOURCE...` is `batch run SOURCE...`.",
)


def _approve_default() -> str:
    return "wait" if spec_default(BatchSpec, "approval").required else "auto"


@batch_app.command("run")
def run(
    ctx: typer.Context,
    sources: list[str] = typer.Argument(None, help="Folders, files, pkgdocs:PKG or manifest:FILE."),
    graph: str | None = typer.Option(
        None, "--graph", help=f"Per-document graph, name@version ({spec_default(BatchSpec, 'graph')})."
    ),
    reduce_graph: str | None = typer.Option(
        None, "--reduce-graph", help=f"Reduce graph, name@version (default: {spec_default(BatchSpec, 'reduce_graph')})."
    ),
    question: str | None = typer.Option(None, "--question", help="Asked of every document and of the reduction."),
    model: str | None = MODEL,
    parallelism: int | None = typer.Option(
        None, "--parallelism", help=f"Shards running at once (default: {spec_default(BatchSpec, 'parallelism')})."
    ),
    job_id: str | None = typer.Option(None, "--job-id", help="Batch id (default: batch-<hex>)."),
    approve: Literal["auto", "wait"] | None = typer.Option(
        None, "--approve", help=f"auto: publish at once; wait: ask (default: {_approve_default()})."
    ),
    reuse: str | None = typer.Option(None, "--reuse", help="Reuse results of an earlier batch for equal content."),
    graphs_from: list[str] = typer.Option([], "--graphs", help="Load graphs from module:attr first."),
    detach: bool = typer.Option(False, "--detach", help="Start and return; a `worker` runs it."),
    max_tokens: int | None = MAX_TOKENS,
    max_cost: float | None = MAX_COST,
    max_model_calls: int | None = MAX_MODEL_CALLS,
    budget_wait_s: float | None = BUDGET_WAIT_S,
    as_json: bool = _JSON,
) -> None:
    """Run a graph over every document of the sources, reduce the results into one report."""
    sources = list(sources or [])
    if sources and sources[0] in ACTIONS:  # `batch --json pause JOB`: an option came before the action
        _action(ctx, sources[0], sources[1:], graph, as_json)
        return
    if not sources:
        bad_input("give at least one SOURCE: a folder, a file, pkgdocs:PACKAGE or manifest:FILE")
    try:
        if job_id is not None:
            check_job_id(job_id)
        chosen = given(
            graph=graph, reduce_graph=reduce_graph, question=question, parallelism=parallelism, reuse_job=reuse,
            model=model_choice(model).model_dump() if model is not None else None,
            approval={"required": approve == "wait"} if approve is not None else None,
        )  # fmt: skip
        spec = BatchSpec.model_validate(
            chosen | {"budget": budget_fields(max_tokens, max_cost, max_model_calls, budget_wait_s)}
        )
    except ValidationError as exc:
        bad_input("invalid batch: " + pydantic_problems(exc))
    except ValueError as exc:
        bad_input(str(exc))
    clean_errors(_batch)(env(ctx), spec, sources, job_id, graphs_from, detach, as_json)


async def _batch(
    environment: Environment, spec: BatchSpec, sources: list[str], job_id: str | None,
    graphs: list[str], detach: bool, as_json: bool,
) -> None:  # fmt: skip
    settings = environment.orchestration
    registry = load_graphs(graphs)
    home = settings.home.expanduser().resolve()
    deps = worker_deps(environment, home, registry)
    job_id = job_id or new_batch_id()
    check_batch(spec, registry, job_id, deps.artifacts)  # before the server or anything else starts
    client = await connect(settings)
    batches = BatchClient(client, queues=settings.task_queues())
    if detach:
        handle, summary = await _start(batches, spec, sources, deps, registry, job_id)
        emit_json({"job_id": handle.job_id, "documents": summary.total}) if as_json else console.print(handle.job_id)
        return
    sdk_logs_to_file(home / "worker.log")
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
    print_batch_result(result, deps.artifacts.root, as_json)


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


# --- actions on a running batch ---------------------------------------------------


@batch_app.command("pause")
def pause(ctx: typer.Context, job: str | None = _BATCH_ID, as_json: bool = _JSON) -> None:
    """Pause a batch: micro-batches in flight finish, no new one starts."""
    _action(ctx, "pause", [job] if job else [], None, as_json)


@batch_app.command("resume")
def resume(ctx: typer.Context, job: str | None = _BATCH_ID, as_json: bool = _JSON) -> None:
    """Resume a paused batch."""
    _action(ctx, "resume", [job] if job else [], None, as_json)


@batch_app.command("retry-failed")
def retry_failed(ctx: typer.Context, job: str | None = _BATCH_ID, as_json: bool = _JSON) -> None:
    """Run the failed documents of a batch again (and only those)."""
    _action(ctx, "retry-failed", [job] if job else [], None, as_json)


@batch_app.command("swap-graph")
def swap_graph(
    ctx: typer.Context,
    job: str | None = _BATCH_ID,
    graph: str | None = typer.Option(None, "--graph", help="The per-document graph, name@version."),
    as_json: bool = _JSON,
) -> None:
    """Pin another per-document graph for the micro-batches not yet started."""
    _action(ctx, "swap-graph", [job] if job else [], graph, as_json)


def _action(ctx: typer.Context, action: str, rest: list[str], graph: str | None, as_json: bool) -> None:
    # The JOB argument is optional to click so that a missing one gets this line, as before sub-commands.
    if len(rest) != 1:
        bad_input(
            f"usage: durable-research batch {action} JOB" + (" --graph name@version" if action == "swap-graph" else "")
        )
    if action == "swap-graph" and not graph:
        bad_input("swap-graph needs --graph name@version")
    clean_errors(_act)(settings_of(ctx), action, rest[0], graph, as_json)


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
    app.add_typer(batch_app, name="batch")
