"""`durable-research mcp --http PORT`: streamable HTTP on 127.0.0.1, every request with the bearer token.

The token file is created mode 0600 and its token printed once; `DURABLE_RESEARCH_MCP_TOKEN` takes
precedence; a file others may read is refused. A request without the token, or with a wrong one,
gets 401 (raw HTTP, and the official MCP client fails to connect); with it, the client lists the
tools and follows a job (progress notifications over HTTP too) run by in-process workers.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from temporalio.client import Client as TemporalClient

from orchestration.server import ServerRecord
from orchestration.settings import OrchestrationSettings
from orchestration.worker import WorkerGroup, WorkerSettings, build_workers
from tests.conftest import VENV_BIN
from tests.support.cli_jobs import CORPUS
from tests.support.jobs import make_deps
from tests.support.mcp_clients import QUESTION, TOOLS, data_of, mcp_env
from tests.support.processes import ROOT

CLI = str(VENV_BIN / "durable-research")
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}  # fmt: skip


@dataclass
class Running:
    url: str
    printed_token: str | None  # the token line, printed when the token file was created


def spawn(env: dict[str, str]) -> subprocess.Popen[str]:
    """`durable-research mcp --http 0` with `env`, just started."""
    return subprocess.Popen(
        [CLI, "mcp", "--http", "0"], env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@contextlib.contextmanager
def serving(proc: subprocess.Popen[str]) -> Iterator[Running]:
    """`proc` once it says where it listens; SIGTERMed (and gone, without a traceback) at the end."""
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        token = re.search(r"^New bearer token \(shown once; kept in .+\): (\S+)$", first.strip())
        line = proc.stdout.readline() if token else first
        url = re.search(r"^MCP server on (http://127\.0\.0\.1:\d+/mcp) ", line)
        assert url, (first, line)
        yield Running(url.group(1), token.group(1) if token else None)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        assert "Traceback" not in err, err


@contextlib.asynccontextmanager
async def mcp_client(url: str, token: str) -> AsyncIterator[Client]:
    """The official MCP client over streamable HTTP, sending `token` as the bearer token."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def _status(url: str, token: str | None) -> int:
    headers = MCP_HEADERS | ({"Authorization": f"Bearer {token}"} if token else {})
    return httpx.post(url, json=INITIALIZE, headers=headers, timeout=30).status_code


def test_token_file_env_token_and_refusals(temporal_server: ServerRecord, tmp_path: Path) -> None:
    prefix = f"mcp-http-{uuid.uuid4().hex[:6]}-"
    home, other, loose = tmp_path / "home", tmp_path / "other", tmp_path / "loose"
    env_token = f"env-token-{uuid.uuid4().hex}"
    (loose / "mcp-token").parent.mkdir()
    (loose / "mcp-token").write_text("readable-by-others-0123456789\n")
    (loose / "mcp-token").chmod(0o644)
    with (
        spawn(mcp_env(temporal_server, loose, prefix)) as refused,  # exits by itself; waited for at the end
        serving(spawn(mcp_env(temporal_server, other, prefix, DURABLE_RESEARCH_MCP_TOKEN=env_token))) as from_env,
        serving(spawn(mcp_env(temporal_server, home, prefix))) as first,
        serving(spawn(mcp_env(temporal_server, home, prefix))) as again,  # the same state folder: its file exists
    ):
        token_file = home / "mcp-token"
        assert first.printed_token and token_file.read_text().strip() == first.printed_token
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert again.printed_token is None, "the token is printed once, when its file is created"
        assert from_env.printed_token is None and not (other / "mcp-token").exists()
        assert _status(first.url, None) == 401
        assert _status(first.url, "wrong-" + first.printed_token) == 401
        assert _status(from_env.url, first.printed_token) == 401
        assert _status(again.url, first.printed_token) == 200
        assert _status(from_env.url, env_token) == 200
        out, err = refused.communicate(timeout=60)
    assert refused.returncode == 2 and out == "" and "Traceback" not in err
    path = loose / "mcp-token"
    assert err.strip() == f"error: the MCP token file {path} must be mode 0600 or stricter; run `chmod 600 {path}`."


@pytest.mark.slow
async def test_a_job_over_http(temporal_server: ServerRecord, temporal_client: TemporalClient, tmp_path: Path) -> None:
    home, prefix, token = tmp_path / "state", f"mcp-http-{uuid.uuid4().hex[:6]}-", uuid.uuid4().hex
    queues = OrchestrationSettings(task_queue_prefix=prefix).task_queues()
    workers = build_workers(
        temporal_client, make_deps(home, latency_s=0.2), queues=queues, settings=WorkerSettings(graceful_shutdown_s=2)
    )
    with serving(spawn(mcp_env(temporal_server, home, prefix, DURABLE_RESEARCH_MCP_TOKEN=token))) as server:
        # The transport's task groups wrap the refusal: the client never gets to list anything.
        with pytest.RaisesGroup(MCPError, flatten_subgroups=True):
            async with mcp_client(server.url, "wrong-" + token) as client:
                await client.list_tools()
        async with WorkerGroup(workers), mcp_client(server.url, token) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
            started = await client.call_tool(
                "start_research", {"question": QUESTION, "corpus": [CORPUS], "model": "fake", "approval": "wait"}
            )
            job_id = data_of(started)["job_id"]
            heard: list[str] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                heard.append(message or "")

            waited = await client.call_tool("wait_for_job", {"job_id": job_id}, progress_callback=on_progress)
            status = await client.call_tool("job_status", {"job_id": job_id})
            rejected = await client.call_tool("reject", {"job_id": job_id, "notes": "not needed"})
            ended = await client.call_tool("wait_for_job", {"job_id": job_id, "timeout_s": 60})
    assert data_of(waited)["waited"] == "approval"
    assert any("phase -> " in line for line in heard), heard
    seen = data_of(status)
    assert seen["job_id"] == job_id and seen["phase"] == "awaiting_approval" and seen["waiting_for"] == "approval"
    assert seen["usage_line"].endswith("$0.0000") and seen["report"]["key"].endswith(".md")
    assert data_of(rejected) == {
        "job_id": job_id, "accepted": "reject", "by": "mcp", "next": "wait_for_job follows the job from here"
    }  # fmt: skip
    assert data_of(ended)["waited"] == "ended" and data_of(ended)["phase"] == "rejected"
