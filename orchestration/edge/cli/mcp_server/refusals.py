"""What a refused MCP call says: the one line the CLI prints for the same mistake, never a traceback.

The CLI turns the errors a user can cause into `error: ...` (`runner._run_mapped`, and
`bad_input` in the checks that build a spec). `refusal` gives the same text for an MCP
tool or resource, and `cli_checks` runs those checks with their line captured instead of
printed, so an MCP client and a terminal are told exactly the same thing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError, UnexpectedResourceError, UnexpectedToolError
from pydantic import ValidationError
from rich.text import Text
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from orchestration.edge.cli.job_support import pydantic_problems
from orchestration.edge.cli.output import err_console
from orchestration.errors import DurableResearchError
from reasoning import ReasoningError
from retrieval import RetrievalError

_CLI_PREFIX = "error: "


def refusal(exc: BaseException) -> str | None:
    """The CLI's line for an error a user can cause (as `runner._run_mapped` words it); None for a crash."""
    if isinstance(exc, (UnexpectedToolError, UnexpectedResourceError)):
        return None
    if isinstance(exc, (ToolError, ResourceError, DurableResearchError, ReasoningError, RetrievalError)):
        return str(exc)
    if isinstance(exc, ValidationError):  # the arguments did not fit the tool's schema
        return "invalid arguments: " + pydantic_problems(exc)
    if isinstance(exc, WorkflowUpdateFailedError):
        return f"refused: {getattr(exc.cause, 'message', None) or exc.cause}"
    if isinstance(exc, RPCError):
        if exc.status == RPCStatusCode.NOT_FOUND:
            return f"no such job ({exc.message}); `durable-research jobs` lists them"
        return f"Temporal said: {exc.message}"
    return None


@contextlib.contextmanager
def cli_checks() -> Iterator[None]:
    """Run the CLI's own input checks; a refusal becomes a ToolError carrying the line they print.

    `bad_input` prints `error: ...` on stderr and exits; here the line is captured instead of
    printed. Synchronous code only: the capture holds the shared console until the block ends.
    """
    capture = err_console.capture()
    refused = False
    with capture:
        try:
            yield
        except typer.Exit:
            refused = True
    if refused:
        line = Text.from_ansi(capture.get()).plain.strip()
        raise ToolError(line.removeprefix(_CLI_PREFIX))


@contextlib.contextmanager
def resource_refusals() -> Iterator[None]:
    """Read a resource; an error a user can cause becomes a ResourceError with the CLI's line."""
    try:
        yield
    except ResourceError:
        raise
    except Exception as exc:
        message = refusal(exc)
        if message is None:
            raise
        raise ResourceError(message) from None
