"""`graphs list`: the registered graphs (built-ins, entry points, and --load paths)."""

from __future__ import annotations

import typer
from rich.table import Table

from orchestration.edge.cli.job_support import load_graphs
from orchestration.edge.cli.output import bad_input, console, emit_json
from reasoning import ReasoningError

graphs_app = typer.Typer(help="The LangGraph graphs jobs can pin.", no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Machine-readable output.")
_LOAD = typer.Option(None, "--load", help="Also register graphs from 'module:attr' (repeatable).")


@graphs_app.command("list")
def list_graphs(as_json: bool = _JSON, load: list[str] | None = _LOAD) -> None:
    """List registered graphs with their nodes and input/output types."""
    try:
        rows = [spec.describe() for spec in load_graphs(load or []).list()]
    except ReasoningError as exc:
        bad_input(str(exc))
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Registered graphs")
    for column in ("key", "nodes", "input -> output", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["key"], " -> ".join(row["nodes"]), f"{row['input']} -> {row['output']}", row["description"])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(graphs_app, name="graphs")
