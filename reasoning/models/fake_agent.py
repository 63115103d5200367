"""How the fake model behaves as a tool-using agent: a fixed, content-addressed script.

With tools bound and an "agent" task, the fake reads the conversation and does the next thing
a diligent, gullible agent would, always the same for the same messages:

1. obey a tool result that says ``CALL TOOL <name> <json args>`` (a gullible model: the job's
   tool allow-list, not the model, must stop a page from running a tool it names);
2. search the memory for the question (``search_memory``) if it has not yet;
3. fetch every http(s) URL named in the question or its notes that it has not fetched yet
   (``fetch_url``), all in one turn, so the tools run in parallel;
4. call each other bound tool once, with the question as every required string argument;
5. then answer in the "draft" shape, each claim citing a ``[chunk_id]`` a tool returned.

Real models follow the agent instructions instead; tests script the fake through its inputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

_BUILT_IN = ("search_memory", "fetch_url", "read_document")
_OBEY = re.compile(r"CALL TOOL (\w[\w-]*) (\{.*?\})", re.DOTALL)
_URL = re.compile(r"https?://[^\s\"'<>)\]]+")
_CITED = re.compile(r"^\[([^\]\s]+)\] (?:([^:\n]*): )?(.+)$", re.MULTILINE)


def agent_turn(
    payload: dict[str, Any], messages: Sequence[BaseMessage], tools: list[dict[str, Any]], digest: str
) -> AIMessage:
    """The fake agent's next message: tool calls, or its final answer as JSON text."""
    names = {_tool_name(t): t for t in tools}
    results = [m for m in messages if isinstance(m, ToolMessage)]
    wanted = _next_calls(payload, names, _calls_made(messages), results)
    if wanted:
        calls = [
            {"name": n, "args": a, "id": f"call_{digest[:10]}_{i}", "type": "tool_call"}
            for i, (n, a) in enumerate(wanted)
        ]
        return AIMessage(content="", tool_calls=calls)
    return AIMessage(content=json.dumps(_answer(str(payload.get("question", "")), results, digest)))


def _next_calls(
    payload: dict[str, Any], names: dict[str, dict[str, Any]], done: set[tuple[str, str]], results: list[ToolMessage]
) -> list[tuple[str, dict[str, Any]]]:
    """The script's steps 1-4, the first that has something left to do."""
    question = str(payload.get("question", ""))
    obeyed = [
        (name, _json(raw)) for r in results for name, raw in _OBEY.findall(str(r.content))
    ]  # 1. what a page asked for
    wanted = [(n, a) for n, a in obeyed if (n, _key(a)) not in done]
    if wanted:
        return wanted[:1]
    if "search_memory" in names and not any(n == "search_memory" for n, _ in done):
        return [("search_memory", {"query": question})]
    if "fetch_url" in names:
        urls = dict.fromkeys(_URL.findall(" ".join([question, str(payload.get("notes", ""))])))
        fetches = [("fetch_url", {"url": u}) for u in urls if ("fetch_url", _key({"url": u})) not in done]
        if fetches:
            return fetches
    for name, spec in names.items():
        if name not in _BUILT_IN and not any(n == name for n, _ in done):
            return [(name, _default_args(spec, question))]
    return []


def _answer(question: str, results: list[ToolMessage], digest: str) -> dict[str, Any]:
    """The draft: the first passage of each tool result (every tool's finding shows), then more, up to 5."""
    found = [[(cid, _first_sentence(text)) for cid, _t, text in _CITED.findall(str(r.content))] for r in results]
    firsts = [passages[0] for passages in found if passages]
    rest = [p for passages in found for p in passages[1:]]
    chosen = list(dict(firsts + rest).items())[:5]
    answer = f"Fake agent answer {digest[:8]} to {question!r}: " + " ".join(text for _, text in chosen)
    return {"answer": answer.strip(), "claims": [{"text": text, "citations": [cid]} for cid, text in chosen]}


def _first_sentence(text: str) -> str:
    head = text.strip().split(". ")[0].strip()
    return head if head.endswith(".") else head + "."


def _calls_made(messages: Sequence[BaseMessage]) -> set[tuple[str, str]]:
    return {(c["name"], _key(c.get("args") or {})) for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}


def _key(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, default=str)


def _json(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _tool_name(tool: dict[str, Any]) -> str:
    return str((tool.get("function") or tool).get("name", ""))


def _default_args(tool: dict[str, Any], question: str) -> dict[str, Any]:
    schema = (tool.get("function") or tool).get("parameters") or {}
    props = schema.get("properties") or {}
    required: list[str] = list(schema.get("required") or [])
    return {name: question for name in required if (props.get(name) or {}).get("type") == "string"}
