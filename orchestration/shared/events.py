"""The job event stream's item, its topic, its retention, and the rule that counts it once.

A job's events live in a Temporal workflow stream (`temporalio.contrib.workflow_streams`)
hosted by the job's workflow: the workflow publishes phase, subtask and approval events;
reasoning activities publish node, model call, token, resume and retry events in batches.
Every item has a global offset, so a watcher that disconnects resumes from the offset
after the last one it saw and sees every event once.

Counting across retries: every activity event carries its `activity_id` and `attempt`. A
retried attempt first publishes a "retry" marker; what earlier attempts of the same
activity reported (their node, model call and token events) no longer counts, because
the retry does that work again. A paused zombie attempt whose batch arrives after the
marker is ignored the same way. `EventTally` is that rule, in one place.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# The stream's one topic: watchers filter by `kind`, not by topic.
EVENTS_TOPIC = "events"

# Items the workflow keeps for late watchers; older ones are truncated (their offsets
# stay valid: a watcher asking for them starts at the oldest kept item). It bounds the
# workflow's memory and the state carried across continue-as-new (~200 bytes an item).
EVENT_RETENTION = 1000

EventKind = Literal[
    "phase",
    "subtask_started",
    "subtask_finished",
    "approval",
    "question",
    "retry",
    "resumed",
    "node_started",
    "node_finished",
    "model_call",
    "tool_call",
    "tokens",
]
# Kinds published by activities (they carry an activity_id and an attempt >= 1).
ACTIVITY_KINDS: tuple[EventKind, ...] = (
    "retry", "resumed", "node_started", "node_finished", "model_call", "tool_call", "tokens",
)  # fmt: skip


class JobEvent(BaseModel):
    """One item of a job's event stream; small by design (names, counts, timings, token text).

    Attributes:
        kind: what happened.
        at: Unix time it happened (workflow events: the workflow's deterministic clock).
        activity_id: the activity an activity event comes from (stable across its retries).
        attempt: that activity's attempt (1, 2, ...); 0 for events of the workflow itself.
        subtask: the subtask id, when the event belongs to one.
        graph: the pinned graph (`name@version`).
        node: the graph node.
        step: the node's step number ("resumed": the step the run continues after).
        seconds: how long the node or model call took.
        model: the model a call used, when the provider says.
        tokens_in: prompt tokens of a model call.
        tokens_out: completion tokens of a model call.
        text: streamed tokens ("tokens", several tokens batched into one item).
        phase: the job's phase ("phase"), or the subtask's status ("subtask_finished").
        detail: a short human note: an error, who decided, the attempt a retry supersedes.
        replayed: a model or tool call answered from the call log (no request, no cost, nothing run).
        tool: the tool a "tool_call" called.
        args: its arguments as JSON, shortened.
        ok: whether that tool call succeeded.
    """

    kind: EventKind
    at: float = 0.0
    activity_id: str | None = None
    attempt: int = 0
    subtask: str | None = None
    graph: str | None = None
    node: str | None = None
    step: int | None = None
    seconds: float | None = None
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    text: str = ""
    phase: str | None = None
    detail: str = ""
    # Added with the call log and tools: defaults keep older streams decoding.
    replayed: bool = False
    tool: str | None = None
    args: str = ""
    ok: bool = True


class _AttemptCounts(BaseModel):
    attempt: int = 0
    nodes: int = 0
    model_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    replayed_calls: int = 0
    tool_calls: int = 0


class EventTally(BaseModel):
    """Totals over a stream that count each activity's latest attempt only.

    `add` returns False for an event it ignored (from a superseded attempt), so a view can
    grey it out or skip it.
    """

    activities: dict[str, _AttemptCounts] = Field(default_factory=dict)
    retries: int = 0
    resumed: int = 0
    ignored: int = 0

    def add(self, event: JobEvent) -> bool:
        """Count `event`; False when it belongs to an attempt a retry superseded."""
        if event.activity_id is None or event.kind not in ACTIVITY_KINDS:
            return True
        counts = self.activities.setdefault(event.activity_id, _AttemptCounts(attempt=event.attempt))
        if event.attempt < counts.attempt:
            self.ignored += 1
            return False
        if event.attempt > counts.attempt:  # a newer attempt redoes the work: forget the older one's
            counts = self.activities[event.activity_id] = _AttemptCounts(attempt=event.attempt)
        if event.kind == "retry":
            self.retries += 1
        elif event.kind == "resumed":
            self.resumed += 1
        elif event.kind == "node_finished":
            counts.nodes += 1
        elif event.kind == "tool_call":
            counts.tool_calls += 1
        elif event.kind == "model_call" and event.replayed:
            counts.replayed_calls += 1  # answered from the call log: no tokens spent
        elif event.kind == "model_call":
            counts.model_calls += 1
            counts.tokens_in += event.tokens_in
            counts.tokens_out += event.tokens_out
        return True

    def total(
        self, field: Literal["nodes", "model_calls", "tokens_in", "tokens_out", "replayed_calls", "tool_calls"]
    ) -> int:
        """The sum of `field` over every activity's latest attempt."""
        return sum(getattr(c, field) for c in self.activities.values())
