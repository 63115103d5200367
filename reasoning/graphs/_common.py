"""Helpers the built-in graphs share: reading the runtime context, shaping evidence."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from reasoning.context import GraphContext
from reasoning.errors import ConfigError
from reasoning.models.tasks import ask, provider_name
from reasoning.types import Citation, Evidence


def context_of(runtime: Runtime[GraphContext]) -> GraphContext:
    ctx = runtime.context
    if not isinstance(ctx, GraphContext):
        raise ConfigError(
            "This graph needs a GraphContext as its runtime context. Run it with "
            "reasoning.run_graph(..., context=GraphContext(retriever=..., model=...))."
        )
    return ctx


def param(runtime: Runtime[GraphContext], name: str, default: Any) -> Any:
    return context_of(runtime).params.get(name, default)


def ask_model(runtime: Runtime[GraphContext], task: str, payload: dict[str, Any]) -> dict[str, Any]:
    return ask(context_of(runtime).model, task, payload)


def provider(runtime: Runtime[GraphContext]) -> str:
    return provider_name(context_of(runtime).model)


def retrieve(runtime: Runtime[GraphContext], query: str) -> list[dict[str, Any]]:
    """Retrieve evidence as JSON dicts (state stays plain JSON for any checkpointer)."""
    k = int(param(runtime, "k", 5))
    hits = context_of(runtime).retriever.retrieve(query, k)
    return [Evidence.model_validate(h).model_dump(mode="json") for h in hits]


def evidence_for_model(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: e[k] for k in ("chunk_id", "source", "title", "text")} for e in evidence]


def clean_claims(raw: Any, known: set[str]) -> list[dict[str, Any]]:
    """Keep claims with text; drop citations to chunks that were never retrieved."""
    claims = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not str(item.get("text", "")).strip():
            continue
        cites = [str(c) for c in item.get("citations") or [] if str(c) in known]
        claims.append({"text": str(item["text"]).strip(), "citations": list(dict.fromkeys(cites))})
    return claims


def citations_for(
    claims: list[dict[str, Any]], evidence: list[dict[str, Any]], quotes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One Citation per cited chunk, in first-cited order, quoting what the claim used."""
    by_id = {e["chunk_id"]: e for e in evidence}
    quote_of = {q["chunk_id"]: q["quote"] for q in reversed(quotes)}
    out: dict[str, dict[str, Any]] = {}
    for claim in claims:
        for cid in claim["citations"]:
            if cid in by_id and cid not in out:
                quote = quote_of.get(cid) or claim["text"]
                out[cid] = Citation(chunk_id=cid, source=by_id[cid]["source"], quote=quote[:300]).model_dump()
    return list(out.values())
