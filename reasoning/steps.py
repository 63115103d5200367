"""Steps a graph cannot take itself, and their answers: how a run stops for the workflow and goes on.

A run stops at a lifted tool call (a tool marked ``durable="activity"`` or ``"human"``) or at a
graph's own ``interrupt(value)``: LangGraph ends the run with an interrupt, and the runner returns
it as a `PendingStep` instead of an output. The workflow answers it (runs the tool as an activity,
or waits for a person) and runs the graph again with every answer so far (`StepAnswer`s):

* a tool's answer is written into the call log at the call's key before the run starts, so the
  call finds it there, in either recovery mode, and the run goes on as if the tool had run inline;
* a question's answer resumes LangGraph's interrupt: in `resume` mode the thread's checkpoint is
  continued with ``Command(resume=answer)``; in `restart` mode the graph runs again from its first
  node (its calls replayed from the log) and each interrupt it reaches is resumed in order with
  the answers given so far.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class PendingStep(BaseModel):
    """A step the graph cannot take itself: a lifted tool call, or a question from `interrupt()`.

    Attributes:
        kind: "tool" (a lifted tool call) or "question" (a graph's own `interrupt(value)`).
        durable: who answers: "activity" (the workflow runs the tool) or "human".
        tool: the tool's name ("tool" steps).
        args: the tool's arguments ("tool" steps).
        call_id: the model's tool-call id.
        position: where the answer goes in the call log (with `fingerprint`).
        fingerprint: the request's fingerprint.
        question: what a "question" step asks (the interrupt's value, JSON-safe).
    """

    kind: Literal["tool", "question"] = "tool"
    durable: Literal["activity", "human"] = "activity"
    tool: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    call_id: str = ""
    position: str = ""
    fingerprint: str = ""
    question: Any = None


class StepAnswer(BaseModel):
    """The answer to one `PendingStep` (a tool's result as text, or a person's reply)."""

    step: PendingStep
    answer: Any = None


def pending_of(interrupts: list[Any]) -> PendingStep:
    """The first interrupt of a run as a step: a lifted tool call, or any other interrupt as a question."""
    value = getattr(interrupts[0], "value", interrupts[0])
    if isinstance(value, dict) and value.get("kind") == "tool" and value.get("fingerprint"):
        return PendingStep.model_validate(value)
    return PendingStep(kind="question", durable="human", question=_json_safe(value))


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return str(value)
