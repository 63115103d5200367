"""`wait_for_job`: wait until a job ends or needs a person, telling the client what happens meanwhile.

A research job's wait follows its event stream (`JobStream`: read-only, it adds nothing to
the job's history) from where the job is now. Phases, finished subtasks, tool calls,
retries, questions and approvals become MCP progress notifications, one line each as
`watch` prints them; only the events that change the workflow's own state ask the
`progress` query whether to stop. A batch's wait polls its progress instead (a batch has
no event stream). Leaving early, at the timeout or because the client cancelled or
disconnected, stops the watching, never the job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from orchestration.batch_client import BatchHandle
from orchestration.client import JobHandle
from orchestration.edge.cli.mcp_server.backend import Backend
from orchestration.edge.cli.mcp_server.jobs import QUERY_TIMEOUT_S, JobId, job_summary, no_worker, waiting_for
from orchestration.edge.event_view import event_line
from orchestration.job_stream import JobStream, StreamGap
from orchestration.shared.batch import BATCH_FINAL
from orchestration.shared.messages import FINAL_PHASES, JobProgress

# What a person following the job wants to hear about (node, model-call and token events are too many).
NOTIFIED = frozenset({"phase", "subtask_finished", "tool_call", "retry", "question", "approval"})
# Events that change what the progress query returns (the workflow's own state).
_REFRESH = frozenset({"phase", "subtask_started", "subtask_finished", "approval", "question"})
BATCH_POLL_S = 1.0

Notify = Callable[[str], Awaitable[None]]
Timeout = Annotated[
    float,
    Field(
        gt=0, le=3600, description="Stop waiting after this many seconds (the job goes on); call again to wait more."
    ),
]


class WaitTools:
    """The waiting tool, bound to one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def wait_for_job(
        self, job_id: JobId, timeout_s: Timeout = 300.0, ctx: Context | None = None
    ) -> dict[str, Any]:
        """Wait until a job (or batch) ends, needs a person, or timeout_s passes; then return its status.

        A person is needed for an approval (approve, reject or revise), a graph's question
        (answer) or a budget raise. While it waits, progress notifications say what happens:
        phases, finished subtasks, tool calls. The result is job_status's plus `waited`:
        "ended", "approval", "answer", "budget" or "timeout".
        """
        client = await self.backend.client()
        handle = await self.backend.lookup(job_id)
        notify = _Notifier(ctx)
        deadline = asyncio.timeout(timeout_s)
        try:
            async with deadline:
                if isinstance(handle, BatchHandle):
                    waited = await _follow_batch(handle, notify)
                else:
                    waited = await _follow_job(handle, JobStream(client.client, job_id), notify)
        except TimeoutError:
            if not deadline.expired():
                raise
            waited = "timeout"
        return {"waited": waited} | await job_summary(self.backend, job_id)


class _Notifier:
    """MCP progress notifications, numbered 1, 2, ... (a no-op when the client asked for none)."""

    def __init__(self, ctx: Context | None) -> None:
        self.ctx = ctx
        self.sent = 0

    async def __call__(self, message: str) -> None:
        if self.ctx is not None:
            self.sent += 1
            await self.ctx.report_progress(self.sent, None, message)


def _stop(progress: JobProgress) -> str | None:
    return "ended" if progress.phase in FINAL_PHASES else waiting_for(progress)


async def _follow_job(handle: JobHandle, stream: JobStream, notify: Notify) -> str:
    if await handle.closed():
        return "ended"
    start = await stream.end_offset()  # first, so nothing published after the query below is missed
    try:
        progress = await asyncio.wait_for(handle.progress(heartbeats=False), QUERY_TIMEOUT_S)
    except TimeoutError:
        raise no_worker(handle.job_id) from None
    if need := _stop(progress):
        return need
    async for item in stream.events(start):
        if isinstance(item, StreamGap):
            continue
        event = item.event
        if event.kind in NOTIFIED:
            await notify(event_line(event))
        if event.kind in _REFRESH and (need := _stop(await handle.progress(heartbeats=False))):
            return need
    return "ended"  # the stream ends when the job closes


async def _follow_batch(handle: BatchHandle, notify: Notify) -> str:
    last = None
    async for p in handle.watch(interval_s=BATCH_POLL_S):
        line = f"batch {p.job_id} {p.phase}: {p.done}/{p.total} documents done, {p.failed} failed"
        if line != last:
            last = line
            await notify(line)
        if p.phase in BATCH_FINAL:
            return "ended"
        if p.phase in ("awaiting_approval", "awaiting_budget"):
            return p.phase.removeprefix("awaiting_")
    return "ended"
