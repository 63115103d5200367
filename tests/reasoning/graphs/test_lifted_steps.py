"""A run stops at a lifted tool call or a graph's own interrupt() and returns the step; run again with
the answer, it goes on where it stopped, in both recovery modes, paying no finished call twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from reasoning import FakeChatModel, Finding, GraphContext, GraphSpec, ResearchInput
from reasoning.graphs._common import ask_model
from reasoning.models import read_call_log
from reasoning.steps import StepAnswer
from tests.reasoning.graphs.deep_helpers import counting_tool, deep_run


@pytest.mark.parametrize("mode", ["restart", "resume"])
def test_a_lifted_tool_stops_the_run_and_its_answer_continues_it(tmp_path: Path, mode: str) -> None:
    runs: list[dict[str, Any]] = []
    log = tmp_path / "calls.jsonl"
    extra = [counting_tool("lookup_ticket", runs)]
    kwargs: dict[str, Any] = {"extra": extra, "lifted": {"lookup_ticket": "activity"}, "mode": mode}

    stopped = deep_run(FakeChatModel(call_log=log), tmp_path, **kwargs)
    step = stopped.pending
    assert step is not None and (step.kind, step.tool, step.durable) == ("tool", "lookup_ticket", "activity")
    assert runs == [] and stopped.output == {}  # the graph did not run the tool itself
    paid_before = len(read_call_log(log))

    answer = {"content": "ticket 42: the resume fix shipped", "artifact": []}
    done = deep_run(FakeChatModel(call_log=log), tmp_path, answers=[StepAnswer(step=step, answer=answer)], **kwargs)
    assert done.pending is None and runs == []
    assert Finding.model_validate(done.output).claims
    assert done.replayed_tool_calls >= 1  # the lifted call's answer, found in the log
    calls = read_call_log(log)
    assert len({c["hash"] for c in calls}) == len(calls), "a finished model call was paid twice"
    assert len(calls) > paid_before


class _AskState(TypedDict, total=False):
    subtask: dict[str, Any]
    notes: str
    subtask_id: str
    question: str
    answer: str
    claims: list[dict[str, Any]]
    citations: list[dict[str, Any]]


def _ask(state: _AskState, runtime: Any) -> dict[str, Any]:
    draft = ask_model(runtime, "answer", {"question": state["subtask"]["question"], "evidence": []})
    scope = interrupt({"ask": "Which version do you mean?", "draft": str(draft.get("answer", ""))[:40]})
    unit = interrupt("And which unit?")
    return {
        "subtask_id": state["subtask"]["id"], "question": state["subtask"]["question"],
        "answer": f"{scope} / {unit}", "claims": [], "citations": [],
    }  # fmt: skip


def _asking_graph() -> StateGraph[Any, Any, Any, Any]:
    graph = StateGraph(_AskState, context_schema=GraphContext)
    graph.add_node("ask", _ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph


ASKING = GraphSpec("asking", "1", _asking_graph, ResearchInput, Finding, "Asks a person twice (test only).")


@pytest.mark.parametrize("mode", ["restart", "resume"])
def test_a_graphs_own_interrupts_are_answered_in_turn(tmp_path: Path, mode: str) -> None:
    log = tmp_path / "calls.jsonl"
    answers: list[StepAnswer] = []
    for expected in ({"ask": "Which version do you mean?"}, "And which unit?"):
        run = deep_run(FakeChatModel(call_log=log), tmp_path, spec=ASKING, mode=mode, answers=answers, tools=[])
        assert run.pending is not None and run.pending.kind == "question"
        question = run.pending.question
        assert question == expected or (isinstance(question, dict) and question["ask"] == expected["ask"])  # type: ignore[index]
        answers = [*answers, StepAnswer(step=run.pending, answer=f"answer {len(answers) + 1}")]
    done = deep_run(FakeChatModel(call_log=log), tmp_path, spec=ASKING, mode=mode, answers=answers, tools=[])

    assert done.pending is None and done.output["answer"] == "answer 1 / answer 2"
    assert len(read_call_log(log)) == 1, "the model call before the questions was paid again"
