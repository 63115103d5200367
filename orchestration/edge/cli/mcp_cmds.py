"""`durable-research mcp [--http PORT]`: research jobs as MCP tools for agents and IDEs (the `mcp` extra).

Over stdio (the default) an MCP client starts this command and talks to it on stdin and
stdout; `--http PORT` serves streamable HTTP on 127.0.0.1 with a bearer token instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys

import typer

from orchestration.edge.cli.context import env
from orchestration.edge.cli.job_support import load_graphs, load_tools
from orchestration.edge.cli.output import bad_input, console
from orchestration.errors import ConfigError
from reasoning import ReasoningError


def mcp(
    ctx: typer.Context,
    http: int | None = typer.Option(
        None, "--http", min=0, max=65535, help="Serve streamable HTTP on 127.0.0.1:PORT (0: a free port), not stdio."
    ),
    graphs: list[str] = typer.Option(
        [], "--graphs", help="Register graphs from module:attr first (jobs may pin them)."
    ),
    tools: list[str] = typer.Option([], "--tools", help="Register tools from module:attr first (jobs may use them)."),
) -> None:
    """Serve research jobs as MCP tools and resources: stdio for an MCP client, or --http PORT."""
    if importlib.util.find_spec("mcp") is None:
        bad_input("`durable-research mcp` needs the mcp extra: pip install 'durable-research[mcp]'")
    from orchestration.edge.cli import mcp_server  # the SDK is an optional extra: imported only here

    environment = env(ctx)
    try:
        # Over stdio, stdout is the protocol: whatever a loaded module prints goes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            backend = mcp_server.Backend(environment, load_graphs(graphs), load_tools(tools))
    except (ValueError, ReasoningError) as exc:  # a --graphs or --tools path that does not load
        bad_input(str(exc))
    if http is None:
        asyncio.run(mcp_server.serve_stdio(backend))
        return
    settings = environment.orchestration
    try:
        token, created = mcp_server.load_token(settings)
        sock = mcp_server.listen(http)
    except ConfigError as exc:
        bad_input(str(exc))
    except OSError as exc:
        bad_input(f"cannot listen on 127.0.0.1:{http}: {exc.strerror or exc}")
    if created:
        console.print(f"New bearer token (shown once; kept in {mcp_server.token_file(settings)}): {token}")
    console.print(f"MCP server on {mcp_server.endpoint(sock)} (streamable HTTP; Authorization: Bearer <token>)")
    asyncio.run(mcp_server.serve_http(backend, sock, token))


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)
