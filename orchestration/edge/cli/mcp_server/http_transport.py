"""Streamable HTTP for the MCP server: loopback only, every request with the bearer token.

The token comes from `DURABLE_RESEARCH_MCP_TOKEN`, or from `<home>/mcp-token`, created with
mode 0600 on first use (the codec server's pattern). The SDK's bearer middleware checks it
on every request: a missing or wrong token gets 401 before any MCP handler runs.
"""

from __future__ import annotations

import hmac
import os
import secrets
import socket
from pathlib import Path

import uvicorn
from mcp.server.auth.provider import AccessToken

from orchestration.edge.cli.mcp_server.backend import Backend
from orchestration.edge.cli.mcp_server.server import build_server
from orchestration.errors import ConfigError
from orchestration.settings import OrchestrationSettings

TOKEN_ENV = "DURABLE_RESEARCH_MCP_TOKEN"
TOKEN_FILE_NAME = "mcp-token"
HOST = "127.0.0.1"
PATH = "/mcp"
_MIN_TOKEN = 16
_NEW_TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def token_file(settings: OrchestrationSettings) -> Path:
    return settings.home.expanduser().resolve() / TOKEN_FILE_NAME


def load_token(settings: OrchestrationSettings) -> tuple[str, bool]:
    """The bearer token (from the environment, else the token file); True when the file was just created.

    Raises:
        ConfigError: a token shorter than 16 characters, or a file others may read.
    """
    given = os.environ.get(TOKEN_ENV)
    if given is not None:
        if len(given.strip()) < _MIN_TOKEN:
            raise ConfigError(
                f"{TOKEN_ENV} is shorter than {_MIN_TOKEN} characters; use a random one: {_NEW_TOKEN_HINT}"
            )
        return given.strip(), False
    path = token_file(settings)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        token = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(token + "\n")
        return token, True
    if mode & 0o077:
        raise ConfigError(f"the MCP token file {path} must be mode 0600 or stricter; run `chmod 600 {path}`.")
    token = path.read_text().strip()
    if len(token) < _MIN_TOKEN:
        raise ConfigError(
            f"the MCP token in {path} is shorter than {_MIN_TOKEN} characters; delete the file for a new one."
        )
    return token, False


class StaticToken:
    """The SDK's `TokenVerifier` for one shared secret, compared in constant time."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token=token, client_id="durable-research", scopes=[])
        return None


def listen(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:`port` (0: a free one), so the address can be printed before serving.

    It listens at once: a client that connects as soon as the address is printed waits in the
    backlog until the server accepts, instead of being refused.

    Raises:
        OSError: the port is taken, or not ours to bind.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock


def endpoint(sock: socket.socket) -> str:
    return f"http://{HOST}:{sock.getsockname()[1]}{PATH}"


async def serve_http(backend: Backend, sock: socket.socket, token: str) -> None:
    """Serve streamable HTTP on `sock` until SIGINT or SIGTERM; every request must carry `token`."""
    base = endpoint(sock).removesuffix(PATH)
    server = build_server(backend, verifier=StaticToken(token), url=base)
    # The SDK turns on its DNS-rebinding protection for a loopback host (Host and Origin checked).
    app = server.streamable_http_app(streamable_http_path=PATH, host=HOST)
    # A stopping server does not wait out a client's long `wait_for_job`: ending a wait never touches the job.
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    await uvicorn.Server(config).serve(sockets=[sock])
