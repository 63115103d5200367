"""The fake model is content-addressed: same prompt, same reply and tokens, in any process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from reasoning import FakeChatModel, read_call_log
from reasoning.models import message_hash, task_messages

PAYLOAD = {"question": "Why durable?", "max_subtasks": 3, "kinds": ["research"]}

_CHILD = """
import json, sys
from reasoning import FakeChatModel
from reasoning.models import task_messages
msg = FakeChatModel(call_log=sys.argv[1]).invoke(task_messages("plan", json.loads(sys.argv[2])))
print(json.dumps({"content": msg.content, "usage": msg.usage_metadata}))
"""


def test_same_prompt_same_reply_across_processes(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    here = FakeChatModel(call_log=log).invoke(task_messages("plan", PAYLOAD))
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(log), json.dumps(PAYLOAD)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    there = json.loads(child.stdout)
    assert there["content"] == here.content
    assert there["usage"] == here.usage_metadata
    entries = read_call_log(log)
    assert len(entries) == 2 and entries[0]["hash"] == entries[1]["hash"]
    assert entries[0]["pid"] == os.getpid() and entries[1]["pid"] != os.getpid()
    assert entries[0]["task"] == "plan"


def test_whitespace_is_normalised_but_content_is_not() -> None:
    a = task_messages("plan", PAYLOAD)
    b = task_messages("plan", PAYLOAD)
    b[0].content = str(b[0].content).replace(" ", "   ")
    c = task_messages("plan", PAYLOAD | {"question": "Why not durable?"})
    assert message_hash(a) == message_hash(b) != message_hash(c)


def test_latency_is_configurable_and_unknown_prompts_get_a_stable_reply() -> None:
    model = FakeChatModel(latency_s=0.2)
    started = time.monotonic()
    first = model.invoke("hello")
    assert time.monotonic() - started >= 0.2
    assert first.content == FakeChatModel().invoke("hello").content
    assert str(first.content).startswith("fake reply ")
