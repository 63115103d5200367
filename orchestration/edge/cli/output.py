"""Shared CLI output helpers: one console, JSON mode, errors that exit non-zero."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def emit_json(data: Any) -> None:
    """Print machine-readable output on stdout, nothing else."""
    typer.echo(json.dumps(data, indent=2, default=str))


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error on stderr and exit with `code` (1: something failed while working)."""
    # The message is plain text: rules such as "[a-zA-Z0-9._-]" must not be read as markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def bad_input(message: str) -> NoReturn:
    """Refuse what the user typed or set, before any side effect: exit code 2, like a usage error."""
    fail(message, code=2)
