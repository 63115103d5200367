"""`run`, `status`, `result`, `approve`, `reject`, `revise`, `budget`, `cancel`, `answer` and `jobs`.

Each command that names a job takes a research job's id or a batch's: `lookup` returns
the right handle, and the commands call what both handles share (`BaseHandle`); only what
is printed differs by kind (`batch_view` prints a batch).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Literal

import typer
from pydantic import ValidationError
from rich.table import Table

from orchestration.activities import WorkerDeps
from orchestration.batch_client import BatchHandle, lookup
from orchestration.client import JobEndedError, JobHandle, ResearchClient
from orchestration.edge.cli.batch_view import batch_cancel, batch_status, print_batch_result
from orchestration.edge.cli.context import env
from orchestration.edge.cli.context import settings as settings_of
from orchestration.edge.cli.job_support import (
    BUDGET_WAIT_S,
    MAX_COST,
    MAX_MODEL_CALLS,
    MAX_TOKENS,
    MODEL,
    budget_fields,
    build_spec,
    closed_summary,
    final_result,
    load_graphs,
    load_tools,
    print_result,
    progress_view,
    pydantic_problems,
    read_question,
    spec_default,
)
from orchestration.edge.cli.output import bad_input, console, emit_json, err_console, fail
from orchestration.edge.cli.run_view import follow_run
from orchestration.edge.cli.runner import METRICS_PORT, clean_errors, metrics_runtime, sdk_logs_to_file, worker_deps
from orchestration.edge.env import Environment
from orchestration.edge.preflight import check_job_id_unused, check_spec
from orchestration.job_stream import JobStream
from orchestration.settings import OrchestrationSettings
from orchestration.shared.spec import JobSpec, Recovery, check_job_id
from orchestration.shared.usage import BudgetChange, Usage
from orchestration.telemetry.tracing import Tracing
from orchestration.worker import WorkerGroup, build_workers
from reasoning import GraphRegistry, ReasoningError

_JSON = typer.Option(False, "--json", help="Machine-readable output.")
_JOB = typer.Argument(..., help="The job id.")
_BY = typer.Option("cli", "--by", help="Who decides (recorded in the job).")
_NOTES = typer.Option("", "--notes", help="Notes kept with the decision.")


# --- commands -----------------------------------------------------------------


def run(
    ctx: typer.Context,
    question: str | None = typer.Argument(None, help="What to research (or --question-file)."),
    question_file: str | None = typer.Option(
        None, "--question-file", help="Read the question from a file, or '-' for stdin (for long questions)."
    ),
    corpus: list[str] = typer.Option([], "--corpus", help="Folder, file, URL or pkgdocs:a,b (repeatable)."),
    # Not unset like --model: the spec's default is to wait for a human (the safe one for a spec sent
    # over an API); a person at the terminal who wants to wait says so.
    approve: Literal["auto", "wait"] = typer.Option(
        "auto", "--approve", help="auto: publish at once; wait: ask a human."
    ),
    graph: list[str] = typer.Option([], "--graph", help="Pin a graph: kind=name@version (repeatable)."),
    model: str | None = MODEL,
    recovery: Recovery | None = typer.Option(
        None, "--recovery", help=f"restart or resume a retried graph (default: {spec_default(JobSpec, 'recovery')})."
    ),
    job_id: str | None = typer.Option(None, "--job-id", help="Job id (default: from the question)."),
    graphs_from: list[str] = typer.Option([], "--graphs", help="Load graphs from module:attr first."),
    tool: list[str] = typer.Option(
        [], "--tool", help="Tools for a kind: kind=name[,name] (repeatable; default: the read-only built-ins)."
    ),
    tools_from: list[str] = typer.Option([], "--tools", help="Register tools from module:attr first."),
    detach: bool = typer.Option(False, "--detach", help="Start the job and return; no worker here."),
    max_tokens: int | None = MAX_TOKENS,
    max_cost: float | None = MAX_COST,
    max_model_calls: int | None = MAX_MODEL_CALLS,
    budget_wait_s: float | None = BUDGET_WAIT_S,
    ingest_engine_min_documents: int | None = typer.Option(
        None,
        "--ingest-engine-min-documents",
        min=1,
        help="Ingest a corpus of at least this many documents through the batch engine (shards, progress, "
        "resumable; `status JOB/ingest`) instead of one activity. Default: never.",
    ),
    metrics_port: int | None = METRICS_PORT,
    as_json: bool = _JSON,
) -> None:
    """Run a research job: validate, start, work on it here (unless --detach), print the report."""
    text = read_question(question, question_file)
    budget = budget_fields(max_tokens, max_cost, max_model_calls, budget_wait_s)
    try:
        load_tools(tools_from)
        spec = build_spec(text, corpus, approve, graph, model, recovery, budget, ingest_engine_min_documents, tool)
        if job_id is not None:
            check_job_id(job_id)
    except ValidationError as exc:
        bad_input("invalid job spec: " + pydantic_problems(exc))
    except (ValueError, ReasoningError) as exc:  # a --tools path that does not load
        bad_input(str(exc))
    clean_errors(_run)(env(ctx), spec, job_id, graphs_from, detach, as_json, metrics_port)


async def _run(
    environment: Environment,
    spec: JobSpec,
    job_id: str | None,
    graphs: list[str],
    detach: bool,
    as_json: bool,
    metrics_port: int | None = None,
) -> None:
    settings = environment.orchestration
    registry = load_graphs(graphs)
    preflight = functools.partial(check_spec, max_file_bytes=environment.memory.max_file_bytes)
    preflight(spec, registry=registry)  # before the server or anything else starts
    if job_id is not None:
        check_job_id_unused(job_id, settings)
    deps = None if detach else worker_deps(environment, settings.home.expanduser().resolve(), registry)
    runtime = None if detach else metrics_runtime(settings, metrics_port)
    tracing = Tracing.from_settings(settings)
    try:
        client = await ResearchClient.connect(settings, preflight=preflight, runtime=runtime, plugins=tracing.plugins())
        await _run_job(client, environment, spec, job_id, registry, deps, detach, as_json)
    finally:
        tracing.flush()


async def _run_job(
    client: ResearchClient,
    environment: Environment,
    spec: JobSpec,
    job_id: str | None,
    registry: GraphRegistry,
    deps: WorkerDeps | None,
    detach: bool,
    as_json: bool,
) -> None:
    settings = environment.orchestration
    if detach:
        handle = await client.start(spec, job_id=job_id, registry=registry)
        if as_json:
            emit_json({"job_id": handle.job_id, "ui": handle.ui_link})
        else:
            console.print(handle.job_id, highlight=False)
            err_console.print(f"Started; a `durable-research worker` will run it. UI: {handle.ui_link}")
        return
    home = settings.home.expanduser().resolve()
    sdk_logs_to_file(home / "worker.log")
    assert deps is not None
    workers = build_workers(client.client, deps, queues=client.queues, settings=environment.worker)
    async with WorkerGroup(workers):
        handle = await client.start(spec, job_id=job_id, registry=registry)
        try:
            await follow_run(handle, JobStream(client.client, handle.job_id), live=not as_json)
            result = await handle.result()
        except asyncio.CancelledError:  # Ctrl-C: the job itself lives on in Temporal
            err_console.print(
                f"Interrupted. Job {handle.job_id} keeps its state; run `durable-research worker` to "
                f"continue it, `durable-research status {handle.job_id}` to look at it."
            )
            raise
        except JobEndedError as exc:
            fail(f"{exc}\nThe worker's log: {home / 'worker.log'}")
    print_result(result, client, as_json)


async def _handle(settings: OrchestrationSettings, job: str) -> tuple[ResearchClient, JobHandle | BatchHandle]:
    client = await ResearchClient.connect(settings, start_server=False, preflight=check_spec)
    return client, await lookup(client, job)  # an unknown id fails here, with NOT_FOUND


def status(ctx: typer.Context, job: str = _JOB, as_json: bool = _JSON) -> None:
    """Show a job's phase and subtasks (closed jobs: their final status)."""
    clean_errors(_status)(settings_of(ctx), job, as_json)


async def _status(settings: OrchestrationSettings, job: str, as_json: bool) -> None:
    client, handle = await _handle(settings, job)
    if isinstance(handle, BatchHandle):
        return await batch_status(handle, _artifacts_root(client), as_json)
    if await handle.closed():
        summary = await closed_summary(handle)
        if as_json:
            emit_json(summary)
        else:
            console.print(f"Job {job}: {summary['phase']}. `durable-research result {job}` prints the report.")
            if "usage" in summary:
                console.print(f"Spent: {Usage.model_validate(summary['usage']).line()}", highlight=False)
            if summary.get("over_budget_line"):
                console.print(f"{summary['over_budget_line'].capitalize()}.", highlight=False)
        return
    try:
        # A query needs a worker; without one it would hang until the RPC deadline.
        progress = await asyncio.wait_for(handle.progress(), timeout=10)
    except TimeoutError:
        fail(f"job {job} is running but no worker answered; start one with `durable-research worker`")
    if as_json:
        over = {"over_budget": progress.budget.over(progress.usage)}
        emit_json(progress.model_dump(mode="json") | over | {"ui": handle.ui_link})
    else:
        console.print(progress_view(progress, handle.ui_link))


def _artifacts_root(client: ResearchClient) -> Path:
    return client.artifacts.root if client.artifacts else Path(".")


def result(ctx: typer.Context, job: str = _JOB, as_json: bool = _JSON) -> None:
    """Wait for a job to end, then print where its report is and the report."""
    clean_errors(_result)(settings_of(ctx), job, as_json)


async def _result(settings: OrchestrationSettings, job: str, as_json: bool) -> None:
    client, handle = await _handle(settings, job)
    if isinstance(handle, BatchHandle):
        print_batch_result(await final_result(handle), _artifacts_root(client), as_json)
    else:
        print_result(await final_result(handle), client, as_json)


def budget(
    ctx: typer.Context,
    job: str = _JOB,
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="New token limit."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="New cost limit (USD)."),
    max_model_calls: int | None = typer.Option(None, "--max-model-calls", help="New model call limit."),
    as_json: bool = _JSON,
) -> None:
    """Raise a job's budget; a job stopped by its budget (awaiting_budget) resumes."""
    try:
        change = BudgetChange(max_tokens=max_tokens, max_cost_usd=max_cost, max_model_calls=max_model_calls)
    except ValidationError as exc:
        bad_input("invalid budget: " + pydantic_problems(exc))
    if change.problem(Usage()) is not None:
        bad_input("give at least one new limit: --max-tokens, --max-cost or --max-model-calls")
    clean_errors(_budget)(settings_of(ctx), job, change, as_json)


async def _budget(settings: OrchestrationSettings, job: str, change: BudgetChange, as_json: bool) -> None:
    _, handle = await _handle(settings, job)
    before = await handle.query_progress()
    progress = await handle.raise_budget(change)
    over = before.budget.over(progress.usage)  # past the old limits: what ran on after one was reached
    if as_json:
        emit_json(progress.model_dump(mode="json") | {"over_previous_budget": over})
    else:
        console.print(f"budget of job {job} raised; spent so far: {progress.usage.line()}", highlight=False)
        if over:
            console.print(f"The job had gone {before.budget.over_line(progress.usage)} (the old limits).")


def _decide(action: str) -> Callable[..., None]:
    async def go(settings: OrchestrationSettings, job: str, by: str, notes: str, as_json: bool) -> None:
        _, handle = await _handle(settings, job)
        progress = await getattr(handle, action)(notes=notes, by=by)  # a batch takes approve, reject and revise alike
        if as_json:
            emit_json(progress.model_dump(mode="json"))
        else:
            console.print(f"{action}: accepted by {handle.kind} {job}", highlight=False)

    def approve(ctx: typer.Context, job: str = _JOB, by: str = _BY, notes: str = _NOTES, as_json: bool = _JSON) -> None:
        """Approve the report of a job waiting for approval."""
        clean_errors(go)(settings_of(ctx), job, by, notes, as_json)

    def reject(ctx: typer.Context, job: str = _JOB, by: str = _BY, notes: str = _NOTES, as_json: bool = _JSON) -> None:
        """Reject the report of a job waiting for approval."""
        clean_errors(go)(settings_of(ctx), job, by, notes, as_json)

    def revise(
        ctx: typer.Context,
        job: str = _JOB,
        notes: str = typer.Option(..., "--notes", help="What the writer should change."),
        by: str = _BY,
        as_json: bool = _JSON,
    ) -> None:
        """Send the report back to the writer (a batch: its final reduce step) with notes."""
        clean_errors(go)(settings_of(ctx), job, by, notes, as_json)

    return {"approve": approve, "reject": reject, "revise": revise}[action]


def cancel(ctx: typer.Context, job: str = _JOB, as_json: bool = _JSON) -> None:
    """Cancel a job; in-flight graphs stop at their next heartbeat, compensations run."""
    clean_errors(_cancel)(settings_of(ctx), job, as_json)


async def _cancel(settings: OrchestrationSettings, job: str, as_json: bool) -> None:
    client, handle = await _handle(settings, job)
    if await handle.closed():
        fail(f"job {job} has already ended; nothing to cancel. `durable-research result {job}` shows how it ended.")
    if isinstance(handle, BatchHandle):
        return await batch_cancel(handle, _artifacts_root(client), as_json)
    await handle.cancel()
    emit_json({"job_id": job, "cancel_requested": True}) if as_json else console.print(
        f"Cancellation requested for {job}."
    )


def answer(
    ctx: typer.Context,
    job: str = _JOB,
    text: str = typer.Argument(..., help="The answer to the question the job's graph is waiting on."),
    subtask: str | None = typer.Option(None, "--subtask", help="Which subtask (when several are asking)."),
    by: str = _BY,
    as_json: bool = _JSON,
) -> None:
    """Answer a question a job's graph asked (a tool that asks a person, or the graph's own interrupt)."""
    if not text.strip():
        bad_input("answer: give the answer as text (it is empty)")
    clean_errors(_answer)(settings_of(ctx), job, text, subtask, by, as_json)


async def _answer(
    settings: OrchestrationSettings, job: str, text: str, subtask: str | None, by: str, as_json: bool
) -> None:
    client = await ResearchClient.connect(settings, start_server=False, preflight=check_spec)
    handle = client.attach(job)  # a research job's: only its graphs ask questions
    await handle.handle.describe()  # an unknown id fails here, with NOT_FOUND
    progress = await handle.answer(text, subtask_id=subtask, by=by)
    if as_json:
        emit_json(progress.model_dump(mode="json"))
    else:
        console.print(f"answer: accepted by job {job}", highlight=False)


def jobs(ctx: typer.Context, limit: int = typer.Option(50, "--limit"), as_json: bool = _JSON) -> None:
    """List research jobs, newest first."""
    clean_errors(_jobs)(settings_of(ctx), limit, as_json)


async def _jobs(settings: OrchestrationSettings, limit: int, as_json: bool) -> None:
    client = await ResearchClient.connect(settings, start_server=False, preflight=check_spec)
    rows = await client.jobs(limit=limit)
    if as_json:
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table(title="Research jobs")
    for column in ("job", "status", "started", "closed"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.job_id, r.status, _when(r.started), _when(r.closed))
    console.print(table)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else ""


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    for command in (status, result, budget, cancel, answer, jobs):
        app.command(command.__name__)(command)
    for action in ("approve", "reject", "revise"):
        app.command(action)(_decide(action))
