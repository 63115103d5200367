"""`server start|stop|status` and `doctor`."""

from __future__ import annotations

import typer
from rich.table import Table

from orchestration.edge.cli.context import settings as settings_of
from orchestration.edge.cli.output import console, emit_json, fail
from orchestration.edge.doctor import run_checks
from orchestration.errors import DurableResearchError
from orchestration.server import EmbeddedServer, describe
from orchestration.settings import OrchestrationSettings

server_app = typer.Typer(help="The embedded Temporal dev server.", no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Machine-readable output.")


def _external(settings: OrchestrationSettings, as_json: bool) -> bool:
    if settings.embedded:
        return False
    msg = f"TEMPORAL_ADDRESS is set: using {settings.address()}; nothing is started or stopped."
    emit_json({"external": True, "address": settings.address()}) if as_json else console.print(msg)
    return True


@server_app.command("start")
def start(
    ctx: typer.Context,
    as_json: bool = _JSON,
    ui_codec_endpoint: str | None = typer.Option(
        None, "--ui-codec-endpoint", help="Codec server URL for the UI (see `codec-server`); a new server only."
    ),
) -> None:
    """Start the embedded server, or reuse the one already running."""
    settings = settings_of(ctx)
    if ui_codec_endpoint:
        settings = settings.model_copy(update={"ui_codec_endpoint": ui_codec_endpoint})
    if _external(settings, as_json):
        return
    server = EmbeddedServer(settings)
    was_running = server.running()
    stale = server.is_stale()
    try:
        record = server.ensure_started()
    except DurableResearchError as exc:
        fail(str(exc))
    if as_json:
        emit_json(describe(record) | {"reused": was_running is not None, "replaced_stale": stale})
        return
    if stale:
        console.print("[yellow]note:[/] removed a stale record of a server that is gone.")
    verb = "reusing" if was_running else "started"
    console.print(f"Temporal dev server {verb}: pid {record.pid}, {record.address}")
    console.print(f"Temporal UI: {record.ui_url}")
    console.print(f"Database: {record.db_path}")


@server_app.command("stop")
def stop(ctx: typer.Context, as_json: bool = _JSON) -> None:
    """Stop the embedded server recorded in the state folder."""
    settings = settings_of(ctx)
    if _external(settings, as_json):
        return
    try:
        record = EmbeddedServer(settings).stop()
    except DurableResearchError as exc:
        fail(str(exc))
    if as_json:
        emit_json({"stopped": True, "pid": record.pid})
    else:
        console.print(f"Stopped the Temporal dev server (pid {record.pid}).")


@server_app.command("status")
def status(ctx: typer.Context, as_json: bool = _JSON) -> None:
    """Say whether the embedded server runs; exit 1 when it does not."""
    settings = settings_of(ctx)
    if _external(settings, as_json):
        return
    record = EmbeddedServer(settings).running()
    if as_json:
        emit_json({"running": record is not None} | (describe(record) if record else {}))
    elif record is None:
        console.print("The embedded Temporal server is not running.")
    else:
        console.print(f"Running: pid {record.pid}, {record.address}, UI {record.ui_url}")
    if record is None:
        raise typer.Exit(1)


def doctor(ctx: typer.Context, as_json: bool = _JSON) -> None:
    """Check the binary, state folder, server, namespace, encryption, embeddings and lexical index."""
    checks = run_checks(settings_of(ctx))
    if as_json:
        emit_json([c.__dict__ for c in checks])
    else:
        table = Table(title="durable-research doctor")
        table.add_column("check")
        table.add_column("status")
        table.add_column("detail", overflow="fold")
        for c in checks:
            table.add_row(c.name, "[green]ok[/]" if c.ok else "[red]FAIL[/]", c.detail)
        console.print(table)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(server_app, name="server")
    app.command("doctor")(doctor)
