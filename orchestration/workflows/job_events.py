"""The job's event stream, workflow side: host the stream, publish the workflow's own events.

Built on `temporalio.contrib.workflow_streams.WorkflowStream`: activities publish batches
by signal (deduplicated per publisher and sequence), watchers long-poll by update and read
closed jobs by query, and the log survives continue-as-new as part of `JobInput`. Publishing
here appends to the workflow's memory only (no command), so replaying an old history that
never had a stream is unaffected. The UI's "current details" are refreshed at the same
moments, from the same state.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.contrib.workflow_streams import WorkflowStream, WorkflowStreamState

with workflow.unsafe.imports_passed_through():
    from orchestration.shared.events import EVENT_RETENTION, EVENTS_TOPIC, JobEvent
    from orchestration.shared.messages import JobState


class JobEventLog:
    """The stream a job's watchers read, plus the workflow's current details.

    Must be constructed from the workflow's `@workflow.init` (WorkflowStream registers its
    handlers there and checks that its caller is an `__init__`: this one is).
    """

    def __init__(self, prior: WorkflowStreamState | None, retention: int = EVENT_RETENTION) -> None:
        self._stream = WorkflowStream(prior)
        self._topic = self._stream.topic(EVENTS_TOPIC, type=JobEvent)
        self._retention = retention
        self._phase: str | None = None

    def publish(self, kind: str, **fields: object) -> None:
        """Append one workflow event (attempt 0) and drop what exceeds the retention."""
        at = workflow.now().timestamp()
        self._topic.publish(JobEvent.model_validate({"kind": kind, "at": at, **fields}))
        self.trim()

    def phase(self, state: JobState, note: str = "") -> None:
        """Publish the job's phase if it changed since the last call, and refresh the details.

        Args:
            note: said with the phase when it is published (a new run says why it repeats it).
        """
        if state.phase != self._phase:
            detail = (state.error or "") if state.phase == "failed" else note
            self.publish("phase", phase=state.phase, detail=detail)
            self._phase = state.phase
        self.details(state)

    def details(self, state: JobState) -> None:
        """The Temporal UI's "current details" of the job: phase, subtasks, what runs now."""
        workflow.set_current_details(current_details(state))

    def trim(self) -> None:
        """Keep the newest `retention` items; offsets stay global, so watchers are unaffected."""
        # WorkflowStream keeps its end offset private; its offset query handler returns it.
        end = self._stream._on_offset()
        if end > self._retention:
            self._stream.truncate(end - self._retention)

    def end_offset(self) -> int:
        """The offset the next item will get."""
        return self._stream._on_offset()

    def detach(self) -> None:
        """Before continue-as-new: release waiting watchers (they follow the next run)."""
        self._stream.detach_pollers()

    def snapshot(self) -> WorkflowStreamState:
        """The log to carry into the next run (after `detach` and the handlers finished)."""
        self.trim()
        return self._stream.get_state()


def current_details(state: JobState) -> str:
    """Markdown for the UI: a few lines, never bodies."""
    count = {k: sum(t.status == k for t in state.subtasks) for k in ("pending", "running", "done", "failed")}
    lines = [f"**{state.phase}** (run {state.run_number})"]
    if state.subtasks:
        lines.append(", ".join(f"{n} {k}" for k, n in count.items() if n) or "no subtasks")
    for t in state.subtasks:
        if t.status == "running":
            lines.append(f"- running `{t.ref.id}` ({t.ref.kind}) with `{t.graph}`, round {t.round}")
    if state.usage.model_calls:
        lines.append(f"usage: {state.usage.line()}")
    if state.phase == "awaiting_approval":
        lines.append(f"approval: {state.approval}")
    if state.budget_note:
        lines.append(f"budget: {state.budget_note}")
    if state.error:
        lines.append(f"error: {state.error[:300]}")
    return "\n".join(lines)
