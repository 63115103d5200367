"""MCP tools for research jobs: start one, look at it, decide on its report, answer its graph's question.

Each tool takes the arguments of its CLI command and runs the CLI's own checks and calls
(`build_spec`, `check_spec`, `ResearchClient`, `JobHandle`), so an argument the CLI refuses
is refused here with the same line; nothing starts for a spec that is wrong.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidationError

from orchestration.batch_client import BatchHandle
from orchestration.client import JobHandle
from orchestration.edge.cli.job_support import RAISE_HINT, budget_fields, build_spec, closed_summary, pydantic_problems
from orchestration.edge.cli.mcp_server.backend import Backend
from orchestration.edge.cli.mcp_server.batches import batch_summary
from orchestration.edge.cli.mcp_server.refusals import cli_checks
from orchestration.edge.preflight import check_job_id_unused
from orchestration.shared.messages import FINAL_PHASES, JobProgress
from orchestration.shared.spec import Recovery, check_job_id
from orchestration.shared.usage import Usage

# A query needs a worker; without one it would hang until the RPC deadline (as `status` says).
QUERY_TIMEOUT_S = 10.0

JobId = Annotated[str, Field(description="The job id start_research returned.")]
By = Annotated[str, Field(description="Who decides (recorded in the job).")]


def no_worker(job_id: str) -> ToolError:
    return ToolError(f"job {job_id} is running but no worker answered; start one with `durable-research worker`")


def open_questions(progress: JobProgress) -> list[dict[str, str]]:
    """Questions a subtask's graph asked a person and nobody has answered yet."""
    return [
        {"subtask_id": t.ref.id, "question": t.question.prompt()}
        for t in progress.subtasks
        if t.question is not None and t.answer is None
    ]


def waiting_for(progress: JobProgress) -> str | None:
    """What the job needs from a person: "approval", "answer" or "budget"; None while it works or once it ended."""
    if progress.phase == "awaiting_approval":
        return "approval"
    if progress.phase == "awaiting_budget":
        return "budget"
    if progress.phase not in FINAL_PHASES and open_questions(progress):
        return "answer"
    return None


_NEXT = {
    "approval": "call approve, reject, or revise with notes; read report://{job} first",
    "answer": "call answer with the job id, the answer and the subtask_id",
    "budget": RAISE_HINT,
}


def progress_summary(progress: JobProgress, handle: JobHandle) -> dict[str, Any]:
    """`status --json`'s fields, plus the usage line, open questions and what to do next."""
    need = waiting_for(progress)
    return progress.model_dump(mode="json") | {
        "over_budget": progress.budget.over(progress.usage),
        "ui": handle.ui_link,
        "usage_line": progress.usage.line(),
        "questions": open_questions(progress),
        "waiting_for": need,
        "next": _NEXT[need].format(job=progress.job_id) if need else None,
    }


def accepted(action: str, job_id: str, by: str) -> dict[str, Any]:
    """What a decision or an answer returns, like the CLI's "approve: accepted by job X": the job goes on from it."""
    return {"job_id": job_id, "accepted": action, "by": by, "next": "wait_for_job follows the job from here"}


async def job_summary(backend: Backend, job_id: str) -> dict[str, Any]:
    """What `status JOB --json` says about a job or batch, running or closed."""
    handle = await backend.lookup(job_id)
    if isinstance(handle, BatchHandle):
        return await batch_summary(handle, backend.artifacts.root)
    if await handle.closed():
        summary = await closed_summary(handle)
        if "usage" in summary:
            summary["usage_line"] = Usage.model_validate(summary["usage"]).line()
        return summary
    try:
        progress = await asyncio.wait_for(handle.progress(), timeout=QUERY_TIMEOUT_S)
    except TimeoutError:
        raise no_worker(job_id) from None
    return progress_summary(progress, handle)


class JobTools:
    """The research-job tools, bound to one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def start_research(
        self,
        question: Annotated[str, Field(description="What to research (3 to 4,000 characters).")],
        corpus: Annotated[list[str] | None, Field(description="Folders, files, URLs or pkgdocs:a,b to ingest.")] = None,
        model: Annotated[str, Field(description="extractive, fake, openai or openai:MODEL.")] = "extractive",
        approval: Annotated[Literal["auto", "wait"], Field(description="auto: publish at once; wait: ask.")] = "auto",
        graphs: Annotated[
            dict[str, str] | None, Field(description="Graph per subtask kind: {kind: name@version}.")
        ] = None,
        tools: Annotated[
            dict[str, list[str]] | None, Field(description="Tools per subtask kind: {kind: [name]}.")
        ] = None,
        recovery: Annotated[Recovery, Field(description="restart or resume a retried graph.")] = "restart",
        job_id: Annotated[str | None, Field(description="Job id (default: from the question).")] = None,
        max_tokens: Annotated[int | None, Field(description="Budget: stop new work at this many tokens.")] = None,
        max_cost_usd: Annotated[float | None, Field(description="Budget: stop new work at this cost.")] = None,
        max_model_calls: Annotated[int | None, Field(description="Budget: stop at this many calls.")] = None,
        budget_wait_s: Annotated[float | None, Field(description="How long a stopped job waits for more.")] = None,
        ingest_engine_min_documents: Annotated[
            int | None, Field(ge=1, description="Ingest a corpus of this many documents or more as a batch.")
        ] = None,
    ) -> dict[str, Any]:
        """Start a research job and return its id at once, like `durable-research run --detach`.

        The user's `durable-research worker` processes run it; a client that disconnects never
        cancels it. Follow it with wait_for_job; read report://JOB and findings://JOB.
        """
        budget = budget_fields(max_tokens, max_cost_usd, max_model_calls, budget_wait_s)
        # As `--graph kind=name@version` and `--tool kind=a,b`, so the CLI's parsing and messages apply.
        pins = [f"{kind}={key}" for kind, key in (graphs or {}).items()]
        tool_pins = [f"{kind}={','.join(names)}" for kind, names in (tools or {}).items()]
        try:
            with cli_checks():
                spec = build_spec(
                    question,
                    corpus or [],
                    approval,
                    pins,
                    model,
                    recovery,
                    budget,
                    ingest_engine_min_documents,
                    tool_pins,
                )
            if job_id is not None:
                check_job_id(job_id)
        except ValidationError as exc:
            raise ToolError("invalid job spec: " + pydantic_problems(exc)) from None
        except ValueError as exc:  # a tools pin without '=', a malformed job id
            raise ToolError(str(exc)) from None
        backend = self.backend
        backend.preflight(spec, registry=backend.registry)  # before a server or anything else starts
        if job_id is not None:
            check_job_id_unused(job_id, backend.settings)
        client = await backend.client(start_server=True)
        handle = await client.start(spec, job_id=job_id, registry=backend.registry)
        return {"job_id": handle.job_id, "ui": handle.ui_link}

    async def job_status(self, job_id: JobId) -> dict[str, Any]:
        """A job's phase, subtasks, spending (usage_line) and what it waits for: an approval, an answer, a budget."""
        return await job_summary(self.backend, job_id)

    async def approve(self, job_id: JobId, by: By = "mcp", notes: str = "") -> dict[str, Any]:
        """Approve the report of a job (or batch) waiting for approval; it is then published."""
        return await self._decide("approve", job_id, by, notes)

    async def reject(self, job_id: JobId, by: By = "mcp", notes: str = "") -> dict[str, Any]:
        """Reject the report of a job (or batch) waiting for approval; nothing is published."""
        return await self._decide("reject", job_id, by, notes)

    async def revise(
        self, job_id: JobId, notes: Annotated[str, Field(description="What the writer should change.")], by: By = "mcp"
    ) -> dict[str, Any]:
        """Send the report back to the writer with notes; the job then waits for approval again."""
        return await self._decide("revise", job_id, by, notes)

    async def _decide(self, action: str, job_id: str, by: str, notes: str) -> dict[str, Any]:
        handle = await self.backend.lookup(job_id)
        await getattr(handle, action)(notes=notes, by=by)  # a batch takes approve, reject and revise alike
        return accepted(action, job_id, by)

    async def answer(
        self,
        job_id: JobId,
        answer: Annotated[str, Field(description="The answer to the question the job's graph asked.")],
        subtask_id: Annotated[str | None, Field(description="Which subtask (when several are asking).")] = None,
        by: By = "mcp",
    ) -> dict[str, Any]:
        """Answer a question a job's graph asked a person (its ask_person tool, or the graph's own interrupt)."""
        if not answer.strip():
            raise ToolError("answer: give the answer as text (it is empty)")
        handle = await self.backend.job(job_id)
        await handle.answer(answer, subtask_id=subtask_id, by=by)
        return accepted("answer", job_id, by)
