"""`tools list`: the tools a job may give its tool-using graphs (built-ins, entry points, --load paths)."""

from __future__ import annotations

import typer
from rich.table import Table

from orchestration.edge.cli.job_support import load_tools
from orchestration.edge.cli.output import bad_input, console, emit_json
from reasoning import ReasoningError

tools_app = typer.Typer(help="The tools tool-using graphs can call.", no_args_is_help=True)


@tools_app.command("list")
def list_tools(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    load: list[str] | None = typer.Option(None, "--load", help="Also register tools from 'module:attr' (repeatable)."),
) -> None:
    """List registered tools: where each runs (inside the graph, as an activity, or a person) and its side effects."""
    try:
        rows = [spec.describe() for spec in load_tools(load or []).list()]
    except ReasoningError as exc:
        bad_input(str(exc))
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Registered tools")
    for column in ("name", "runs", "side effects", "description"):
        table.add_column(column, overflow="fold")
    where = {"inline": "in the graph", "activity": "as an activity", "human": "asks a person"}
    for row in rows:
        table.add_row(row["name"], where[row["durable"]], "yes" if row["side_effects"] else "no", row["description"])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(tools_app, name="tools")
