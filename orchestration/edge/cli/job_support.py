"""What the job commands share: building a spec from options, live progress, printing results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Group
from rich.markdown import Markdown
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text
from temporalio.client import WorkflowFailureError

from orchestration.client import BaseHandle, JobEndedError, JobHandle, ResearchClient, failure_reason
from orchestration.edge.cli.output import bad_input, console, emit_json, fail
from orchestration.edge.live_view import RAISE_HINT
from orchestration.shared.messages import FINAL_PHASES, JobProgress, JobResult
from orchestration.shared.spec import PROVIDERS, QUESTION_MAX_CHARS, JobSpec, ModelChoice, Recovery
from reasoning import GraphRegistry, default_registry
from reasoning.tools import ToolRegistry, default_tools

_R = TypeVar("_R", bound=BaseModel)

_INGEST_NOTE = "Embedding the corpus: minutes for a large one the first time; unchanged chunks are skipped."


def pydantic_problems(exc: ValidationError) -> str:
    """Every problem on one line: `question: String should have at least 3 characters; ...`."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors())


# --- building the spec --------------------------------------------------------


def spec_default(model: type[BaseModel], field: str) -> Any:
    """A spec field's default, for an option's help: the option itself defaults to unset, so the
    model alone decides what an option left out means."""
    return model.model_fields[field].get_default(call_default_factory=True)


def given(**fields: Any) -> dict[str, Any]:
    """The fields whose option was given (not None): the spec model fills in the rest."""
    return {k: v for k, v in fields.items() if v is not None}


def model_choice(model: str) -> ModelChoice:
    """`--model PROVIDER[:NAME]`; only the openai provider takes a model name."""
    provider, _, name = model.partition(":")
    if provider not in PROVIDERS or (name and provider != "openai"):
        bad_input(f"--model '{model}' must be {', '.join(PROVIDERS)} or openai:MODEL")
    return ModelChoice.model_validate({"provider": provider, "name": name or None})


def read_question(question: str | None, question_file: str | None) -> str:
    """The question from the argument, a file, or stdin ('-'): a long one does not fit in argv."""
    if (question is None) == (question_file is None):
        bad_input("give the question as an argument or with --question-file PATH (or - for stdin), not both")
    if question is not None:
        return question
    assert question_file is not None
    if question_file == "-":
        return sys.stdin.read()
    path = Path(question_file).expanduser()
    if not path.is_file():
        bad_input(f"--question-file {question_file!r} is not a readable file")
    with path.open(encoding="utf-8", errors="replace") as handle:
        # The spec allows far less; reading a little more than that is enough to refuse it.
        return handle.read(QUESTION_MAX_CHARS + 1)


def graph_pins(pins: list[str]) -> dict[str, str]:
    graphs = dict(JobSpec.model_fields["graphs"].get_default(call_default_factory=True))
    for pin in pins:
        kind, sep, key = pin.partition("=")
        if not sep or not kind or not key:
            bad_input(f"--graph '{pin}' must look like kind=name@version, e.g. research=researcher@1")
        graphs[kind] = key
    return graphs


def build_spec(
    question: str,
    corpus: list[str],
    approve: str,
    graphs: list[str],
    model: str | None,
    recovery: Recovery | None,
    budget: dict[str, Any] | None = None,
    ingest_engine_min_documents: int | None = None,
    tools: list[str] | None = None,
) -> JobSpec:
    """The JobSpec the `run` options describe (pydantic validation included); None: the spec's default."""
    return JobSpec.model_validate(
        {
            "ingest_engine_min_documents": ingest_engine_min_documents,
            "tools": tool_choices(tools or []),
            "question": question,
            "corpus": corpus,
            "graphs": graph_pins(graphs),
            "approval": {"required": approve == "wait"},
            "budget": budget or {},
        }
        | given(model=model_choice(model).model_dump() if model is not None else None, recovery=recovery)
    )


def load_tools(paths: list[str]) -> ToolRegistry:
    """The default tool registry with entry-point tools and `module:attr` paths loaded (`--tools`)."""
    default_tools.load_entry_points()
    for path in paths:
        default_tools.load(path)
    return default_tools


def tool_choices(pins: list[str]) -> dict[str, list[str]]:
    """`--tool kind=a,b` options as the spec's tools per kind."""
    out: dict[str, list[str]] = {}
    for pin in pins:
        kind, sep, names = pin.partition("=")
        if not sep or not kind.strip():
            raise ValueError(f"--tool {pin!r} must be kind=tool[,tool...], e.g. research=search_memory,fetch_url")
        out[kind.strip()] = [n.strip() for n in names.split(",") if n.strip()]
    return out


def load_graphs(paths: list[str]) -> GraphRegistry:
    """The default registry with entry-point graphs and `module:attr` paths loaded (`--graphs`)."""
    default_registry.load_entry_points()
    for path in paths:
        default_registry.load(path)
    return default_registry


# --- progress and results -----------------------------------------------------


def progress_view(progress: JobProgress, link: str | None) -> Group:
    head = Text.assemble(
        ("job ", "dim"), (progress.job_id, "bold"), ("  phase ", "dim"), (progress.phase, "bold cyan"),
        (f"  done {progress.done}  running {progress.running}  pending {progress.pending}", "dim"),
        (f"  failed {progress.failed}" if progress.failed else "", "red"),
    )  # fmt: skip
    table = Table(show_header=True, header_style="dim", box=None)
    for column in ("subtask", "kind", "graph", "status", "node", "tokens", "cost"):
        table.add_column(column, overflow="fold")
    for task in progress.subtasks:
        node = task.node or ""
        if task.attempt > 1:
            node += f" (attempt {task.attempt})"
        spent = task.usage
        table.add_row(
            task.ref.question[:70], task.ref.kind, task.graph, task.status, node,
            f"{spent.tokens:,}", f"${spent.cost_usd:.4f}",
        )  # fmt: skip
    parts: list[Any] = [head if progress.phase in FINAL_PHASES else Spinner("dots", text=head)]
    parts.append(Text(f"spent: {progress.usage.line()}", style="dim"))
    over = progress.budget.over_line(progress.usage)
    if over:  # reaching a limit stops new work; what ran on when it was reached can go past it
        parts.append(Text(f"{over}: the work running when the limit was reached finished", style="yellow"))
    if progress.phase == "awaiting_budget":
        parts.append(Text(f"budget reached ({progress.budget_note}): {RAISE_HINT.format(job=progress.job_id)}"))
    if progress.phase == "ingesting":
        parts.append(Text(_INGEST_NOTE, style="dim"))
    for task in progress.subtasks:
        if task.question is not None and task.answer is None:
            parts.append(Text(question_hint(progress.job_id, task.ref.id, task.question.prompt()), style="yellow"))
    if link:
        parts.append(Text(f"Temporal UI: {link}", style="dim"))
    if progress.subtasks:
        parts.append(table)
    return Group(*parts)


def question_hint(job_id: str, subtask_id: str, prompt: str) -> str:
    return (
        f"Subtask {subtask_id} asks: {prompt}\n  answer it with: durable-research answer {job_id} "
        f'"..." --subtask {subtask_id}'
    )


def report_location(result: JobResult, client: ResearchClient) -> Path | None:
    """The published artifact's path, else where the artifact store keeps the report."""
    for step in result.published:
        if step.step == "artifact":
            return Path(step.ref)
    if result.report and client.artifacts is not None:
        return Path(client.artifacts.path(result.report.key))
    return None


def print_result(result: JobResult, client: ResearchClient, as_json: bool) -> None:
    path = report_location(result, client)
    text = path.read_text(encoding="utf-8") if path and path.exists() else None
    if as_json:
        emit_json(result.model_dump(mode="json") | {"report_path": str(path) if path else None})
    else:
        console.print(f"Job {result.job_id}: [bold]{result.status}[/]", highlight=False)
        if result.error:
            console.print(f"[red]{result.error}[/]", highlight=False)
        console.print(f"Spent: {result.usage.line()}", highlight=False)
        if text is not None:
            console.print(f"Report: {path}\n", highlight=False)
            console.print(Markdown(text))
    if result.status != "completed":
        raise typer.Exit(1)


async def final_result(handle: BaseHandle[Any, _R, Any]) -> _R:
    """The job's or batch's result; one that failed or was cancelled is `error: ...`, exit 1."""
    try:
        return await handle.result()
    except JobEndedError as exc:
        fail(str(exc))


async def closed_summary(handle: JobHandle) -> dict[str, Any]:
    """Status of an ended job from its history alone (a query would need a worker to replay)."""
    desc = await handle.handle.describe()
    summary: dict[str, Any] = {"job_id": handle.job_id, "closed": True, "running": 0, "pending": 0}
    try:
        result = await handle.handle.result()
    except WorkflowFailureError as exc:
        name = desc.status.name.lower() if desc.status else "failed"
        return summary | {"phase": name, "error": failure_reason(exc), "subtasks": [], "report": None}
    done = [t for t in result.subtasks if t.status == "done"]
    return summary | {
        "phase": result.status,
        "done": len(done),
        "failed": len(result.subtasks) - len(done),
        "subtasks": [t.model_dump(mode="json") for t in result.subtasks],
        "report": result.report.model_dump(mode="json") if result.report else None,
        "error": result.error,
        "usage": result.usage.model_dump(mode="json"),
        "usage_by_phase": {k: v.model_dump(mode="json") for k, v in result.usage_by_phase.items()},
        "over_budget": result.budget.over(result.usage) if result.budget else {},
        "over_budget_line": result.budget.over_line(result.usage) if result.budget else None,
    }


# `--model` of `run` and `batch`: unset means the spec's ModelChoice default.
MODEL = typer.Option(
    None,
    "--model",
    help=f"extractive, fake, openai or openai:MODEL (default: {spec_default(ModelChoice, 'provider')}).",
)

# Budget flags of `run` and `batch` (one definition: both build a spec's `budget` from them).
MAX_TOKENS = typer.Option(None, "--max-tokens", help="Budget: stop new work at this many tokens.")
MAX_COST = typer.Option(None, "--max-cost", help="Budget: stop new work at this cost (USD).")
MAX_MODEL_CALLS = typer.Option(None, "--max-model-calls", help="Budget: stop at this many calls.")
BUDGET_WAIT_S = typer.Option(
    None, "--budget-wait-s", help="How long a stopped job waits for `budget JOB ...` (default one day)."
)


def budget_fields(
    max_tokens: int | None, max_cost: float | None, max_model_calls: int | None, wait_s: float | None
) -> dict[str, Any]:
    """The spec's `budget` from the flags given (validated with the spec)."""
    return given(max_tokens=max_tokens, max_cost_usd=max_cost, max_model_calls=max_model_calls, wait_for_raise=wait_s)
