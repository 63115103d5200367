"""The MCP server: research-job tools and resources on the SDK's high-level `MCPServer`, over stdio."""

from __future__ import annotations

import contextlib
import importlib.metadata
import sys
from collections.abc import AsyncIterator
from typing import Any

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import AnyHttpUrl

from orchestration.edge.cli.mcp_server.backend import Backend
from orchestration.edge.cli.mcp_server.batches import BatchTools
from orchestration.edge.cli.mcp_server.catalog import CatalogTools
from orchestration.edge.cli.mcp_server.jobs import JobTools
from orchestration.edge.cli.mcp_server.refusals import refusal
from orchestration.edge.cli.mcp_server.resources import JobResources
from orchestration.edge.cli.mcp_server.waiting import WaitTools

NAME = "durable-research"
INSTRUCTIONS = (
    "Durable research jobs on Temporal. start_research returns a job id at once; the user's "
    "`durable-research worker` processes run the job. wait_for_job returns when it ends or needs a "
    "person: approve, reject or revise its report (read report://JOB first), or answer its question. "
    "Nothing here cancels a job."
)
_LOOKING = ToolAnnotations(read_only_hint=True)


class _ResearchServer(MCPServer[Any]):
    """`MCPServer` whose tool errors carry the CLI's one line for the same mistake.

    The SDK reports a failed tool as "Error executing tool NAME: ..." and a bad argument as
    pydantic's multi-line text. Every error a user can cause (`refusal`) becomes an `isError`
    result with just the CLI's line instead; anything else is a crash, which the SDK logs on
    stderr and reports as "Error executing tool NAME", without its text or traceback.
    """

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            message = str(exc) if exc.__cause__ is None else refusal(exc.__cause__)  # None: an unknown tool's
            if message is None:
                raise
            return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


@contextlib.asynccontextmanager
async def _stdout_to_stderr(_: MCPServer[Any]) -> AsyncIterator[None]:
    # Over stdio, stdout is the protocol: a stray print (a library, a rich console) would be
    # flushed into it. Entered once the transport owns the real stdout; stderr is the log.
    with contextlib.redirect_stdout(sys.stderr):
        yield


def build_server(backend: Backend, *, verifier: TokenVerifier | None = None, url: str | None = None) -> MCPServer[Any]:
    """The server with every tool and resource, bound to `backend`.

    Args:
        verifier: checks the bearer token of every HTTP request (None: stdio, no token).
        url: the HTTP server's own address, the token's issuer.
    """
    auth = AuthSettings(issuer_url=AnyHttpUrl(url), resource_server_url=None) if verifier is not None and url else None
    server = _ResearchServer(
        NAME, version=importlib.metadata.version(NAME), instructions=INSTRUCTIONS, log_level="WARNING",
        token_verifier=verifier, auth=auth, lifespan=_stdout_to_stderr,
    )  # fmt: skip
    jobs, waits, catalog, batches = JobTools(backend), WaitTools(backend), CatalogTools(backend), BatchTools(backend)
    acting = (
        jobs.start_research, waits.wait_for_job, jobs.approve, jobs.reject, jobs.revise, jobs.answer,
        batches.start_batch,
    )  # fmt: skip
    for tool in acting:
        server.add_tool(tool)
    looking = (jobs.job_status, batches.batch_status, catalog.search_memory, catalog.list_graphs, catalog.list_tools)
    for look in looking:
        server.add_tool(look, annotations=_LOOKING)
    resources = JobResources(backend)
    server.resource("report://{job_id}", name="report", mime_type="text/markdown")(resources.report)
    server.resource("findings://{job_id}", name="findings", mime_type="application/json")(resources.findings)
    server.resource("graphs://list", name="graphs", mime_type="application/json")(resources.graphs)
    return server


async def serve_stdio(backend: Backend) -> None:
    """Serve one client over this process's stdin and stdout until it closes them."""
    await build_server(backend).run_stdio_async()
