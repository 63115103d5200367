"""`durable-research mcp`: research jobs, batches and the semantic memory as MCP tools and resources.

Built on the official `mcp` SDK's `MCPServer` (the `mcp` extra). Every tool runs the CLI's
own checks and calls, so it refuses what the CLI refuses, with the same line; jobs run on
the user's `durable-research worker` processes, and nothing a client does by leaving cancels one.
"""

from __future__ import annotations

from orchestration.edge.cli.mcp_server.backend import Backend
from orchestration.edge.cli.mcp_server.http_transport import (
    TOKEN_ENV,
    endpoint,
    listen,
    load_token,
    serve_http,
    token_file,
)
from orchestration.edge.cli.mcp_server.server import build_server, serve_stdio

__all__ = [
    "TOKEN_ENV",
    "Backend",
    "build_server",
    "endpoint",
    "listen",
    "load_token",
    "serve_http",
    "serve_stdio",
    "token_file",
]
