"""Steps a graph hands to the workflow, on the wire: a lifted tool call, or a question for a person.

The reasoning side (`reasoning.steps`) stops a graph at such a step and returns it; the workflow
runs the tool as an activity (`ToolRunRequest`) or waits for a person's answer (`AnswerRequest`),
then runs the graph activity again with every answer so far (`StepAnswerRef`). `raw` carries the
step exactly as reasoning described it (where its answer goes in the call log), opaque here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from orchestration.shared.spec import ModelChoice

MAX_LIFTED_STEPS = 25
"""Steps one subtask may hand to the workflow: a graph that keeps asking is stopped, not run for ever."""

BUILT_IN_TOOLS = ("search_memory", "fetch_url", "read_document")
"""The tools a tool-using graph gets when the spec names none for its kind (all read-only)."""


class PendingStepRef(BaseModel):
    """A step the graph stopped at (`reasoning.steps.PendingStep` as the workflow sees it)."""

    kind: Literal["tool", "question"] = "tool"
    durable: Literal["activity", "human"] = "activity"
    tool: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    question: Any = None
    raw: dict[str, Any] = Field(default_factory=dict)

    def prompt(self) -> str:
        """One line for a person: what is being asked."""
        if self.kind == "question":
            return str(self.question)[:500]
        return f"tool {self.tool} asks: {self.args}"[:500]


class StepAnswerRef(BaseModel):
    """The answer to one step: a lifted tool's result (text, and the passages it read) or a reply."""

    step: PendingStepRef
    answer: Any = None


class ToolRunRequest(BaseModel):
    """One lifted tool call, run by the workflow as an activity of its own."""

    job_id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    collection: str = "research"
    model: ModelChoice = Field(default_factory=ModelChoice)


class ToolRunResult(BaseModel):
    """What the tool returned: its text for the model, and the passages it indexed (to cite)."""

    content: str = ""
    artifact: list[dict[str, Any]] = Field(default_factory=list)


class AnswerRequest(BaseModel):
    """A person's answer to a subtask's open question (the `answer` update)."""

    answer: str = Field(min_length=1, max_length=20_000)
    subtask_id: str | None = Field(default=None, description="Which subtask; None: the only one asking.")
    by: str = "unknown"


Unanswered = Literal["answer", "fail"]
