"""MCP tools for batches: one graph over every document of some sources, reduced into one report.

`start_batch` runs what `durable-research batch SOURCE... --detach` runs (the same spec, the
same checks, `orchestration.edge.batch.start_batch`); `batch_status` says what `status` says.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidationError
from temporalio.client import WorkflowFailureError

from orchestration.batch_client import BatchClient, BatchHandle
from orchestration.client import failure_reason
from orchestration.edge.batch import check_batch, new_batch_id, start_batch
from orchestration.edge.cli.batch_view import partial_results
from orchestration.edge.cli.job_support import budget_fields, model_choice, pydantic_problems
from orchestration.edge.cli.mcp_server.backend import Backend
from orchestration.edge.cli.mcp_server.refusals import cli_checks
from orchestration.shared.batch import BatchSpec
from orchestration.shared.spec import check_job_id

# A query needs a worker; without one it would hang until the RPC deadline.
QUERY_TIMEOUT_S = 10.0


async def batch_summary(handle: BatchHandle, artifacts_root: Path) -> dict[str, Any]:
    """What `status BATCH --json` says: live progress, or how it ended (a failed one: what finished)."""
    job_id = handle.job_id
    if await handle.closed():
        try:
            result = await handle.handle.result()
        except WorkflowFailureError as exc:
            desc = await handle.handle.describe()
            ok = [r.ok for r in partial_results(artifacts_root, job_id)]
            phase = desc.status.name.lower() if desc.status else "failed"
            return {
                "job_id": job_id, "phase": phase, "closed": True, "error": failure_reason(exc),
                "done": sum(ok), "failed": ok.count(False),
            }  # fmt: skip
        closed = {"job_id": job_id, "phase": result.status, "closed": True, "usage_line": result.usage.line()}
        return closed | result.model_dump(mode="json")
    try:
        progress = await asyncio.wait_for(handle.progress(), timeout=QUERY_TIMEOUT_S)
    except TimeoutError:
        raise ToolError(
            f"batch {job_id} is running but no worker answered; start one with `durable-research worker`"
        ) from None
    return progress.model_dump(mode="json") | {"usage_line": progress.usage.line()}


class BatchTools:
    """The batch tools, bound to one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def start_batch(
        self,
        sources: Annotated[list[str], Field(description="Folders, files, pkgdocs:PKG or manifest:FILE.")],
        graph: Annotated[str, Field(description="Per-document graph, name@version.")] = "summarize@1",
        reduce_graph: Annotated[str, Field(description="Reduce graph, name@version.")] = "synthesize@1",
        question: Annotated[str, Field(description="Asked of every document and of the reduction.")] = "",
        model: Annotated[str, Field(description="extractive, fake, openai or openai:MODEL.")] = "extractive",
        parallelism: Annotated[int, Field(description="Shards running at once.")] = 4,
        approval: Annotated[Literal["auto", "wait"], Field(description="auto: publish at once; wait: ask.")] = "auto",
        reuse: Annotated[str | None, Field(description="Reuse an earlier batch's results for equal content.")] = None,
        job_id: Annotated[str | None, Field(description="Batch id (default: batch-<hex>).")] = None,
        max_tokens: int | None = None,
        max_cost_usd: float | None = None,
        max_model_calls: int | None = None,
        budget_wait_s: float | None = None,
    ) -> dict[str, Any]:
        """Start a batch and return its id at once, like `durable-research batch SOURCE... --detach`.

        The user's `durable-research worker` processes run it; follow it with batch_status,
        decide on its report with approve, reject or revise, read it at report://BATCH.
        """
        if not sources:
            raise ToolError("give at least one SOURCE: a folder, a file, pkgdocs:PACKAGE or manifest:FILE")
        budget = budget_fields(max_tokens, max_cost_usd, max_model_calls, budget_wait_s)
        try:
            if job_id is not None:
                check_job_id(job_id)
            with cli_checks():
                choice = model_choice(model).model_dump()
            spec = BatchSpec.model_validate(
                {
                    "graph": graph, "reduce_graph": reduce_graph, "question": question, "model": choice,
                    "parallelism": parallelism, "reuse_job": reuse, "approval": {"required": approval == "wait"},
                    "budget": budget,
                }
            )  # fmt: skip
        except ValidationError as exc:
            raise ToolError("invalid batch: " + pydantic_problems(exc)) from None
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        backend, job_id = self.backend, job_id or new_batch_id()
        store = backend.artifacts
        check_batch(spec, backend.registry, job_id, store)  # before the server or anything else starts
        client = await backend.client(start_server=True)
        batches = BatchClient(client.client, queues=backend.settings.task_queues())
        handle, summary = await start_batch(
            batches, spec, sources, store=store, memory=backend.environment.memory, registry=backend.registry,
            job_id=job_id,
        )  # fmt: skip
        return {"job_id": handle.job_id, "documents": summary.total, "readable": summary.readable}

    async def batch_status(self, job_id: Annotated[str, Field(description="The batch id.")]) -> dict[str, Any]:
        """A batch's phase, documents done and failed, rate, spending (usage_line); or how it ended."""
        handle = await self.backend.lookup(job_id)  # an unknown id fails here, with NOT_FOUND
        if not isinstance(handle, BatchHandle):
            raise ToolError(f"{job_id} is a research job, not a batch; job_status shows it")
        return await batch_summary(handle, self.backend.artifacts.root)
