"""deep-researcher@1 through langchain-openai against an OpenAI-compatible endpoint that answers with
`tool_calls`: the tools run, the answer cites what they returned, and a retry asks the endpoint nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from langchain_openai import ChatOpenAI

from reasoning import Finding
from tests.reasoning.graphs.deep_helpers import deep_run
from tests.support.http_stub import ChatCompletions, serve


class _ToolCallingEndpoint(ChatCompletions):
    """Chat completions: first a `search_memory` tool call, then an answer citing the ids it was shown."""

    usage = (20, 5)

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        tool_results = [m for m in messages if m["role"] == "tool"]
        if "TASK: check" in str(messages[0]["content"]):  # the reflect step's check
            return {"role": "assistant", "content": json.dumps({"ok": True, "feedback": ""})}
        if not tool_results:
            question = json.loads(next(m["content"] for m in messages if m["role"] == "user"))["question"]
            call = {"id": "call_1", "type": "function", "function": {"name": "search_memory",
                    "arguments": json.dumps({"query": question})}}  # fmt: skip
            return {"role": "assistant", "content": None, "tool_calls": [call]}
        ids = re.findall(r"^\[([^\]\s]+)\]", "\n".join(str(m["content"]) for m in tool_results), re.MULTILINE)
        claims = [{"text": "A checkpointer saves the graph state.", "citations": ids[:2]}]
        return {
            "role": "assistant",
            "content": json.dumps({"answer": "It resumes from a checkpoint.", "claims": claims}),
        }


def test_a_real_client_calls_tools_and_a_retry_asks_nothing(tmp_path: Path) -> None:
    _ToolCallingEndpoint.requests = []
    with serve(_ToolCallingEndpoint) as port:
        model = ChatOpenAI(model="stub", base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0)  # type: ignore[arg-type]
        first = deep_run(model, tmp_path, tools=["search_memory"])
        asked = len(_ToolCallingEndpoint.requests)
        again = deep_run(model, tmp_path, tools=["search_memory"], attempt=2)

    first_request = _ToolCallingEndpoint.requests[0]
    assert [t["function"]["name"] for t in first_request["tools"]] == ["search_memory"]  # bind_tools reached the wire
    finding = Finding.model_validate(first.output)
    assert finding.claims and finding.citations and first.tool_calls == 1
    assert asked == first.model_calls == 3  # the tool call, the answer, the check
    assert len(_ToolCallingEndpoint.requests) == asked, "the retry asked the endpoint again"
    assert again.output == first.output and again.replayed_calls == 3 and again.replayed_tool_calls == 1
