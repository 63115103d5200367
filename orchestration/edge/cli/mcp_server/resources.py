"""MCP resources: a job's report (Markdown) and findings (JSON), and the graph list.

A job that ended is read from its result, as `result` prints it (the published report
when there is one); a running job from its progress, so a report waiting for approval can
be read before anyone decides on it. A batch has a report once it ends.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from mcp.server.mcpserver.exceptions import ResourceError

from orchestration.batch_client import BatchHandle
from orchestration.client import JobEndedError, JobHandle
from orchestration.edge.cli.job_support import report_location
from orchestration.edge.cli.mcp_server.backend import Backend
from orchestration.edge.cli.mcp_server.jobs import QUERY_TIMEOUT_S, no_worker
from orchestration.edge.cli.mcp_server.refusals import resource_refusals
from orchestration.shared.messages import JobProgress, SubtaskState


class JobResources:
    """The resources, bound to one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def report(self, job_id: str) -> str:
        """The job's report in Markdown: the published one once it ended, the draft while it awaits approval."""
        with resource_refusals():
            handle = await self.backend.lookup(job_id)
            if isinstance(handle, BatchHandle):
                report = (await handle.result()).report if await handle.closed() else None
                if report is None:
                    raise ResourceError(f"batch {job_id} has no report until it ends; batch_status shows it")
                return self.backend.artifacts.get_text(report.key)
            if await handle.closed():
                result = await handle.result()
                path = report_location(result, await self.backend.client())
                if path is None or not path.exists():
                    raise ResourceError(f"job {job_id} ended ({result.status}) without a report")
                return path.read_text(encoding="utf-8")
            progress = await _progress(handle)
            if progress.report is None:
                raise ResourceError(
                    f"job {job_id} has no report yet (phase {progress.phase}); wait_for_job returns when it has one"
                )
            return self.backend.artifacts.get_text(progress.report.key)

    async def findings(self, job_id: str) -> str:
        """Each subtask of the job with its finding (answer, claims, citations) as JSON, once it has one."""
        with resource_refusals():
            handle = await self.backend.job(job_id)
            if not await handle.closed():
                subtasks = (await _progress(handle)).subtasks
            else:
                try:
                    subtasks = (await handle.result()).subtasks
                except JobEndedError as exc:  # failed or cancelled: what it finished is still there
                    subtasks = exc.state.subtasks if exc.state else []
            return json.dumps([self._finding(task) for task in subtasks], indent=2)

    def _finding(self, task: SubtaskState) -> dict[str, Any]:
        result = task.result
        finding = json.loads(self.backend.artifacts.get_text(result.finding_key)) if result else None
        return {
            "subtask_id": task.ref.id, "kind": task.ref.kind, "question": task.ref.question, "graph": task.graph,
            "status": task.status, "error": task.error, "finding": finding,
        }  # fmt: skip

    def graphs(self) -> str:
        """The graphs a job may pin, as JSON (list_graphs returns the same)."""
        return json.dumps([spec.describe() for spec in self.backend.registry.list()], indent=2)


async def _progress(handle: JobHandle) -> JobProgress:
    try:
        return await asyncio.wait_for(handle.progress(heartbeats=False), QUERY_TIMEOUT_S)
    except TimeoutError:
        raise no_worker(handle.job_id) from None
