"""A deterministic, content-addressed chat model for tests and experiments.

The reply is a pure function of the normalised messages (their sha256), so a process that
is killed and restarted gets the same answers, unlike list-position fakes. It recognises
the task protocol and answers in each task's shape, so it drives every built-in graph.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

from reasoning.models.fake_agent import agent_turn
from reasoning.models.tasks import parse_task

_WORDS = ("scope", "history", "limits", "costs", "design", "risks", "usage", "examples")


def message_hash(messages: list[BaseMessage]) -> str:
    """sha256 of the messages with whitespace normalised (and a reply's tool calls): the fake's content address."""
    parts = [f"{m.type}:{' '.join(str(m.content).split())}{_tool_calls(m)}" for m in messages]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _tool_calls(message: BaseMessage) -> str:
    calls = getattr(message, "tool_calls", None)
    return " tools:" + json.dumps([[c["name"], c.get("args")] for c in calls], sort_keys=True) if calls else ""


def read_call_log(path: str | Path) -> list[dict[str, Any]]:
    """The fake's call log as a list of dicts; an absent file is an empty log."""
    file = Path(path)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]


class FakeChatModel(BaseChatModel):
    """Content-addressed fake. Same prompt, same reply and token counts, in any process.

    Attributes:
        latency_s: seconds to sleep per call.
        call_log: JSONL file; each call appends {hash, pid, started, time, node, thread, task,
            tokens} when it returns (`started`: when it began, `time`: when it ended, `thread`:
            the graph run's thread id, when it has one).
        check_rounds: the researcher's self-check fails until this round (to exercise
            the loop); a function of the prompt, so still content-addressed.
    """

    latency_s: float = 0.0
    call_log: Path | None = None
    check_rounds: int = 1
    provider: str = "fake"

    @property
    def _llm_type(self) -> str:
        return "fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        started = time.time()
        digest = message_hash(messages)
        task, payload = parse_task(messages)
        reply = None
        if task == "agent":
            reply = agent_turn(_first_payload(messages), messages, list(kwargs.get("tools") or []), digest)
        text = str(reply.content) if reply is not None else _reply(task, payload, digest, self.check_rounds)
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        # Usage is reported honestly as an estimate: one token per whitespace-separated word
        # (no tokenizer offline); costs are zero for this provider in every price table.
        tokens_in = sum(len(str(m.content).split()) for m in messages)
        tokens_out = len(text.split())
        usage = {
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        }
        metadata = (run_manager.metadata if run_manager else None) or {}
        where = (str(metadata.get("langgraph_node", "")), str(metadata.get("thread_id", "")))
        self._log(digest, task, where, usage["total_tokens"], started)
        tool_calls = reply.tool_calls if reply is not None else []
        message = AIMessage(content=text, tool_calls=tool_calls, usage_metadata=usage)  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable[Any, Any]:
        """Bind tools as an OpenAI-style list (what `agent_turn` reads); `tool_choice` is ignored."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _log(self, digest: str, task: str | None, where: tuple[str, str], tokens: int, started: float) -> None:
        if self.call_log is None:
            return
        line = {
            "hash": digest,
            "pid": os.getpid(),
            "started": started,
            "time": time.time(),
            "node": where[0],
            "thread": where[1],
            "task": task or "",
            "tokens": tokens,
        }
        # One short O_APPEND write per line, so concurrent processes do not interleave.
        os.write(_log_fd(self.call_log), (json.dumps(line) + "\n").encode())


_LOG_FDS: dict[tuple[int, Path], int] = {}


def _log_fd(path: Path) -> int:
    """This process's descriptor on a call log, opened once (an open per call cost a batch ~6%)."""
    key = (os.getpid(), path)
    if key not in _LOG_FDS:
        if len(_LOG_FDS) >= 16:  # logs of finished tests or benchmark arms
            for old in list(_LOG_FDS)[:8]:
                fd = _LOG_FDS.pop(old)
                if old[0] == key[0]:
                    os.close(fd)
        _LOG_FDS[key] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    return _LOG_FDS[key]


def _first_payload(messages: list[BaseMessage]) -> dict[str, Any]:
    """The agent task's request: the first human message (later ones carry feedback)."""
    for message in messages:
        if message.type == "human":
            try:
                value = json.loads(str(message.content))
            except json.JSONDecodeError:
                return {}
            return value if isinstance(value, dict) else {}
    return {}


def _reply(task: str | None, payload: dict[str, Any], digest: str, check_rounds: int) -> str:
    seed = int(digest[:8], 16)
    builders = {
        "plan": _plan,
        "read": _read,
        "draft": _draft,
        "answer": _draft,
        "judge": _judge,
        "write": _write,
        "summarize": _summarize,
        "extract_claims": _extract_claims,
        "synthesize": _synthesize,
    }
    if task == "check":
        ok = int(payload.get("round", 1)) >= check_rounds
        feedback = "" if ok else f"fake check {digest[:6]}: cite more notes"
        return json.dumps({"ok": ok, "feedback": feedback})
    if task in builders:
        return json.dumps(builders[task](payload, seed, digest))
    return f"fake reply {digest[:12]}"


def _plan(payload: dict[str, Any], seed: int, digest: str) -> dict[str, Any]:
    kinds = payload.get("kinds") or ["research"]
    limit = max(1, int(payload.get("max_subtasks", 1)))
    count = min(limit, 2)
    question = str(payload.get("question", ""))
    subtasks = [
        {"kind": kinds[i % len(kinds)], "question": f"{question} ({_WORDS[(seed + i) % len(_WORDS)]})"}
        for i in range(count)
    ]
    return {"subtasks": subtasks}


def _first_sentence(text: str) -> str:
    head = text.strip().split(". ")[0].strip()
    return head if head.endswith(".") else head + "."


def _read(payload: dict[str, Any], seed: int, digest: str) -> dict[str, Any]:
    evidence = payload.get("evidence") or []
    notes = [{"chunk_id": e["chunk_id"], "quote": _first_sentence(e["text"])} for e in evidence[:3]]
    return {"notes": notes}


def _draft(payload: dict[str, Any], seed: int, digest: str) -> dict[str, Any]:
    notes = payload.get("notes") or [
        {"chunk_id": e["chunk_id"], "quote": _first_sentence(e["text"])} for e in (payload.get("evidence") or [])[:2]
    ]
    claims = [{"text": n["quote"], "citations": [n["chunk_id"]]} for n in notes]
    answer = f"Fake answer {digest[:8]}: " + " ".join(n["quote"] for n in notes)
    return {"answer": answer.strip(), "claims": claims}


def _judge(payload: dict[str, Any], seed: int, digest: str) -> dict[str, Any]:
    verdicts = [
        {"supported": bool(c.get("evidence")), "reason": f"fake judge {digest[:6]}"}
        for c in payload.get("claims") or []
    ]
    return {"verdicts": verdicts}


def _write(payload: dict[str, Any], seed: int, digest: str) -> dict[str, Any]:
    sections = [
        {
            "heading": s["question"],
            "body": " ".join(c["text"] + "".join(f" [{n}]" for n in c["refs"]) for c in s["claims"]),
        }
        for s in payload.get("sections") or []
    ]
    return {
        "title": f"Report: {payload.get('question', '')}",
        "summary": f"Fake summary {digest[:8]}.",
        "sections": sections,
    }


def _sentences(text: str, limit: int) -> list[str]:
    prose = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    parts = [" ".join(p.split()) for p in prose.replace("\n\n", ". ").split(". ")]
    return [p if p.endswith((".", "!", "?")) else p + "." for p in parts if len(p.split()) >= 3][:limit]


def _summarize(payload: dict[str, Any], seed: int, digest: str) -> dict[str, Any]:
    sentences = _sentences(str(payload.get("text", "")), 2)
    return {"summary": f"Fake summary {digest[:8]}: " + " ".join(sentences), "sentences": sentences}


def _extract_claims(payload: dict[str, Any], seed: int, digest: str) -> dict[str, Any]:
    return {"claims": [{"text": s, "quote": s} for s in _sentences(str(payload.get("text", "")), 3)]}


def _synthesize(payload: dict[str, Any], seed: int, digest: str) -> dict[str, Any]:
    parts = payload.get("parts") or []
    firsts = [(_sentences(str(p.get("summary", "")), 1) or [""])[0] for p in parts[:5]]
    claims = [
        {"text": c["text"], "quote": c["quote"], "source": c.get("source") or p.get("source", "")}
        for p in parts
        for c in (p.get("claims") or [])[:1]
    ][:8]
    return {"summary": f"Fake synthesis {digest[:8]} of {len(parts)} parts: " + " ".join(firsts), "claims": claims}
