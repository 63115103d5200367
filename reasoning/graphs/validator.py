"""validator@1: each claim against the evidence it cites -> supported / unsupported, with reasons."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from reasoning.context import GraphContext
from reasoning.graphs._common import ask_model
from reasoning.registry import register_graph
from reasoning.types import Finding, ValidatorInput, ValidatorOutput


class ValidatorState(TypedDict, total=False):
    findings: list[dict[str, Any]]
    pending: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    unsupported_subtasks: list[str]


def _evidence_texts(finding: Finding, cited: list[str]) -> list[str]:
    texts = {e.chunk_id: e.text for e in finding.evidence}
    # Without evidence bodies (a caller may pass references only) fall back to the quotes.
    texts.update({c.chunk_id: c.quote for c in finding.citations if c.chunk_id not in texts})
    return [texts[c] for c in cited if texts.get(c)]


def _collect(state: ValidatorState) -> dict[str, Any]:
    pending: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    for raw in state.get("findings") or []:
        finding = Finding.model_validate(raw)
        if not finding.claims:
            verdicts.append(
                {
                    "subtask_id": finding.subtask_id,
                    "claim": finding.answer[:200],
                    "supported": False,
                    "reason": "The finding makes no cited claim.",
                }
            )
        for claim in finding.claims:
            evidence = _evidence_texts(finding, claim.citations)
            if evidence:
                pending.append({"subtask_id": finding.subtask_id, "claim": claim.text, "evidence": evidence})
            else:
                verdicts.append(
                    {
                        "subtask_id": finding.subtask_id,
                        "claim": claim.text,
                        "supported": False,
                        "reason": "The claim cites no evidence.",
                    }
                )
    return {"pending": pending, "verdicts": verdicts}


def _judge(state: ValidatorState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    pending = state.get("pending") or []
    if not pending:
        return {}
    claims = [{"text": p["claim"], "evidence": p["evidence"]} for p in pending]
    answers = ask_model(runtime, "judge", {"claims": claims}).get("verdicts") or []
    verdicts = list(state.get("verdicts") or [])
    for i, item in enumerate(pending):
        answer = answers[i] if i < len(answers) and isinstance(answers[i], dict) else {}
        verdicts.append(
            {
                "subtask_id": item["subtask_id"],
                "claim": item["claim"],
                "supported": bool(answer.get("supported", False)),
                "reason": str(answer.get("reason") or "The model gave no verdict."),
            }
        )
    return {"verdicts": verdicts}


def _summarize(state: ValidatorState) -> dict[str, Any]:
    bad = [v["subtask_id"] for v in state.get("verdicts") or [] if not v["supported"]]
    return {"unsupported_subtasks": list(dict.fromkeys(bad))}


@register_graph(
    "validator",
    "1",
    input_model=ValidatorInput,
    output_model=ValidatorOutput,
    description="Claims vs evidence -> supported / unsupported with reasons.",
)
def make_validator_graph() -> StateGraph[Any, GraphContext, Any, Any]:
    """Claims vs evidence -> supported / unsupported with reasons."""
    graph = StateGraph(ValidatorState, context_schema=GraphContext)
    graph.add_node("collect", _collect)
    graph.add_node("judge", _judge)
    graph.add_node("summarize", _summarize)
    graph.add_edge(START, "collect")
    graph.add_edge("collect", "judge")
    graph.add_edge("judge", "summarize")
    graph.add_edge("summarize", END)
    return graph
