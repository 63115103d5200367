"""The publish saga: artifact, memory index, notification; compensated in reverse.

Each step's compensation is registered *before* the step runs: a step can fail after
part of its side effect landed, and compensations are idempotent (keyed by job id), so
undoing a step that did nothing is harmless.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orchestration.shared import names
    from orchestration.shared.messages import JobState, PublishedStep, PublishRequest
    from orchestration.workflows.options import ActivityOptions

_STEPS = (
    ("artifact", names.PUBLISH_ARTIFACT, names.UNPUBLISH_ARTIFACT),
    ("index", names.INDEX_REPORT, names.UNINDEX_REPORT),
    ("notify", names.NOTIFY, names.RETRACT_NOTIFICATION),
)

Outcome = Literal["published", "recalled", "failed"]


class PublishSaga:
    def __init__(self, state: JobState, opts: ActivityOptions) -> None:
        self._state = state
        self._opts = opts
        self._recalled_by: str | None = None
        self._compensations: list[str] = []

    def recall(self, by: str) -> None:
        """A rejection that arrives while publishing: stop and undo what was published."""
        self._recalled_by = by

    def _request(self, **extra: object) -> PublishRequest:
        s = self._state
        assert s.report is not None
        return PublishRequest(
            job_id=workflow.info().workflow_id, report_key=s.report.key,
            collection=s.spec.collection, webhook_url=s.spec.publish.webhook_url, **extra,  # type: ignore[arg-type]
        )  # fmt: skip

    def _enabled(self) -> list[tuple[str, str, str]]:
        targets = self._state.spec.publish
        on = {"artifact": targets.artifact, "index": targets.index_memory,
              "notify": targets.outbox or targets.webhook_url is not None}  # fmt: skip
        return [step for step in _STEPS if on[step[0]]]

    async def run(self) -> Outcome:
        s = self._state
        done = {p.step for p in s.published}
        for step, action, undo in self._enabled():
            if step in done:
                continue  # published before a continue-as-new
            if undo not in self._compensations:
                self._compensations.append(undo)
            handle = workflow.start_activity(
                action, self._request(), result_type=PublishedStep, **self._opts.io().kwargs()
            )
            await workflow.wait_condition(lambda: handle.done() or self._recalled_by is not None)  # noqa: B023
            if not handle.done():
                handle.cancel()
                await asyncio.gather(handle, return_exceptions=True)
            if self._recalled_by is not None:
                s.approval, s.decided_by = "rejected", self._recalled_by
                await self.compensate()
                return "recalled"
            try:
                s.published.append(handle.result())
            except ActivityError as err:
                s.error = f"{step}: {err.cause or err}"
                await self.compensate()
                return "failed"
        return "published"

    async def compensate(self) -> None:
        """Undo registered steps in reverse; a failing compensation is recorded, not raised."""
        s = self._state
        published = {p.step for p in s.published}
        pending = self._compensations or [u for step, _, u in _STEPS if step in published]
        if not pending or s.report is None:
            return
        for undo in reversed(pending):
            if undo in s.compensated:
                continue
            try:
                await workflow.execute_activity(
                    undo, self._request(), result_type=PublishedStep, **self._opts.io().kwargs()
                )
                s.compensated.append(undo)
            except ActivityError as err:
                s.compensated.append(f"{undo} FAILED: {err.cause or err}")
        self._compensations.clear()

    async def notify_escalation(self, to: str) -> None:
        await workflow.execute_activity(
            names.NOTIFY,
            self._request(kind="escalation", message=f"approval deadline passed; escalated to {to}"),
            result_type=PublishedStep,
            **self._opts.io().kwargs(),
        )
