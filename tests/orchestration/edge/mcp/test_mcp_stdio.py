"""`durable-research mcp` over stdio, driven by the official MCP client as an IDE would: the client
spawns the server process; a real `durable-research worker` process runs the job on the dev server.

One job end to end: tools listed, bad arguments refused with the very line the CLI prints for them,
the job started with approval "wait", a client that leaves in the middle of `wait_for_job` (the job
runs on), another client's wait streaming progress until the approval, `approve`, a wait until the
job completed, and its report and findings read as resources.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp_types import ReadResourceResult, TextResourceContents
from temporalio.client import Client as TemporalClient

from orchestration.server import ServerRecord
from orchestration.shared.messages import JobResult
from tests.conftest import VENV_BIN
from tests.support.cli_jobs import CORPUS
from tests.support.mcp_clients import QUESTION, TOOLS, data_of, mcp_env, text_of
from tests.support.processes import ROOT, worker_process

pytestmark = pytest.mark.slow

CLI = str(VENV_BIN / "durable-research")
# Slow enough that the job is still working while the test's clients come and go.
LATENCY_S = "0.3"
# A bad input: the tool's arguments, and the same mistake on the command line.
BAD = {
    "empty question": ({"question": ""}, ["run", ""]),
    "unknown graph": (
        {"question": QUESTION, "graphs": {"research": "nope@1"}},
        ["run", QUESTION, "--graph", "research=nope@1"],
    ),
}


@contextlib.asynccontextmanager
async def mcp_client(env: dict[str, str]) -> AsyncIterator[Client]:
    """An MCP client that spawned `durable-research mcp` with `env`, as an MCP client's config does."""
    params = StdioServerParameters(command=CLI, args=["mcp"], env=env, cwd=str(ROOT))
    async with Client(params) as client:
        yield client


@contextlib.contextmanager
def cli_refusals(env: dict[str, str]) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """The CLI refusing each bad input (before it connects anywhere), running alongside the rest."""
    with contextlib.ExitStack() as stack:
        yield {
            case: stack.enter_context(
                subprocess.Popen(
                    [CLI, *args, "--corpus", CORPUS, "--detach"],
                    env=env,
                    cwd=ROOT,
                    text=True,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            )
            for case, (_, args) in BAD.items()
        }


def _cli_line(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and out == "", (out, err)
    [line] = err.splitlines()
    assert line.startswith("error: ")
    return line.removeprefix("error: ")


async def _start(client: Client, refused_by_cli: dict[str, subprocess.Popen[str]], job_id: str) -> None:
    """Tools, graphs and refusals, each bad input's line compared with the CLI's; then the job's start."""
    assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
    graphs = await client.call_tool("list_graphs", {})
    assert not graphs.is_error and "deep-researcher@1" in {g["key"] for g in json.loads(text_of(graphs))["graphs"]}
    for case, (args, _) in BAD.items():
        refused = await client.call_tool("start_research", args | {"corpus": [CORPUS], "model": "fake"})
        assert refused.is_error, case
        assert text_of(refused) == _cli_line(refused_by_cli[case]), case  # one line, the CLI's own
    started = await client.call_tool(
        "start_research",
        {"question": QUESTION, "corpus": [CORPUS], "model": "fake", "approval": "wait", "job_id": job_id},
    )
    assert data_of(started)["job_id"] == job_id


async def _leave_while_waiting(client: Client, job_id: str) -> None:
    """Wait for the job until the first progress notification, then give up on the call."""
    heard = asyncio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.set()

    waiting = asyncio.create_task(client.call_tool("wait_for_job", {"job_id": job_id}, progress_callback=on_progress))
    await asyncio.wait_for(heard.wait(), timeout=60)
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError, MCPError):
        await waiting


async def _wait(client: Client, job_id: str) -> tuple[dict[str, Any], list[str]]:
    """`wait_for_job`'s answer and the progress messages it sent while waiting."""
    heard: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append(message or "")

    answer = await client.call_tool("wait_for_job", {"job_id": job_id, "timeout_s": 120}, progress_callback=on_progress)
    return data_of(answer), heard


def _text(read: ReadResourceResult, mime_type: str) -> str:
    [content] = read.contents
    assert isinstance(content, TextResourceContents) and content.mime_type == mime_type
    return content.text


async def test_a_job_over_stdio(temporal_server: ServerRecord, temporal_client: TemporalClient, tmp_path: Path) -> None:
    home, job_id = tmp_path / "state", f"mcp-stdio-{uuid.uuid4().hex[:6]}"
    env = mcp_env(
        temporal_server, home, f"mcp-{uuid.uuid4().hex[:6]}-", DURABLE_RESEARCH_MODEL_FAKE_LATENCY_S=LATENCY_S
    )
    with cli_refusals(env) as refused_by_cli, worker_process(env, log=tmp_path / "worker.log"):
        async with mcp_client(env) as client:
            async with mcp_client(env) as leaving:  # another server process, gone in the middle of the job
                await _start(leaving, refused_by_cli, job_id)
                staying = asyncio.create_task(_wait(client, job_id))
                await _leave_while_waiting(leaving, job_id)
            waiting, heard = await staying
            assert waiting["waited"] == "approval" and waiting["phase"] == "awaiting_approval", waiting
            assert "approve" in str(waiting["next"])
            draft = _text(await client.read_resource(f"report://{job_id}"), "text/markdown")
            approved = data_of(await client.call_tool("approve", {"job_id": job_id, "by": "tester", "notes": "fine"}))
            ended, _ = await _wait(client, job_id)
            report = _text(await client.read_resource(f"report://{job_id}"), "text/markdown")
            findings = json.loads(_text(await client.read_resource(f"findings://{job_id}"), "application/json"))
            missing = await client.call_tool("job_status", {"job_id": "no-such-job"})
    result = await temporal_client.get_workflow_handle(job_id, result_type=JobResult).result()

    assert any("phase -> " in line for line in heard), heard
    assert any(line.split("  ", 1)[-1].startswith("subtask ") and " done" in line for line in heard), heard
    assert approved["accepted"] == "approve" and ended["waited"] == "ended" and ended["phase"] == "completed", ended
    [published] = [Path(step.ref) for step in result.published if step.step == "artifact"]
    assert report == published.read_text(encoding="utf-8") and report.startswith("# ")
    assert draft.startswith("# ")  # readable while the job waited for the decision
    assert [f["subtask_id"] for f in findings] == [t.ref.id for t in result.subtasks]
    assert all(f["status"] == "done" and f["finding"]["answer"] for f in findings), findings
    assert missing.is_error and text_of(missing).startswith("no such job (") and "Traceback" not in text_of(missing)
