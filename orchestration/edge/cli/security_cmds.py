"""`keys new`, `codec-server` and `payloads prune`: encryption at rest and large-payload retention."""

from __future__ import annotations

import asyncio
import ipaddress
import os
from pathlib import Path

import typer

from orchestration.client import connect
from orchestration.edge.cli.context import settings as _settings
from orchestration.edge.cli.output import bad_input, console, emit_json, err_console, fail
from orchestration.errors import DurableResearchError
from orchestration.payloads.codec import KEY_FILE_ENV, EncryptionCodec, load_key_ring, new_key_ring, write_key_ring
from orchestration.payloads.codec_server import TOKEN_ENV, TOKEN_FILE_NAME, CodecServer, load_or_create_token
from orchestration.payloads.converter import payloads_root
from orchestration.payloads.retention import prune_payloads
from orchestration.server import EmbeddedServer
from orchestration.settings import OrchestrationSettings

keys_app = typer.Typer(help="Payload encryption keys.", no_args_is_help=True)
payloads_app = typer.Typer(help="Payloads kept in External Storage under the state folder.", no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Machine-readable output.")


@keys_app.command("new")
def keys_new(
    ctx: typer.Context,
    file: Path | None = typer.Option(None, "--file", help=f"Where to write (default: ${KEY_FILE_ENV})."),
    rotate: bool = typer.Option(False, "--rotate", help="Add a new current key to the file; keep the old ones."),
) -> None:
    """Write a key file (mode 0600) with a new random AES-256 key, or rotate one."""
    path = file or _settings(ctx).payload_key_file
    if path is None:
        bad_input(f"say where the key file goes: --file PATH, or set {KEY_FILE_ENV}.")
    path = path.expanduser()
    try:
        if rotate:
            ring = load_key_ring(path).rotated()
        elif path.exists():
            bad_input(f"{path} exists; `keys new --rotate` adds a key to it (never overwrite a key file).")
        else:
            ring = new_key_ring()
        write_key_ring(path, ring)
    except DurableResearchError as exc:
        bad_input(str(exc))
    except OSError as exc:
        bad_input(f"cannot write {path}: {exc.strerror or exc}")
    verb = f"rotated: new current key '{ring.current}'" if rotate else f"wrote key '{ring.current}'"
    console.print(f"{verb} to {path} (mode 0600; keys {', '.join(sorted(ring.keys))})")
    if os.environ.get(KEY_FILE_ENV) != str(path):
        console.print(f"Use it everywhere (clients, workers, notebooks): export {KEY_FILE_ENV}={path.resolve()}")


def codec_server(
    ctx: typer.Context,
    port: int = typer.Option(8081, "--port", min=0, max=65535, help="0 picks a free port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface; keep it on loopback."),
    ui_origin: list[str] = typer.Option(
        [], "--ui-origin", help="Browser origin of the Temporal UI allowed by CORS (default: the embedded UI)."
    ),
    token_file: Path | None = typer.Option(
        None, "--token-file", help=f"Bearer token file (default: <home>/{TOKEN_FILE_NAME}; or ${TOKEN_ENV})."
    ),
) -> None:
    """Serve /encode and /decode for the Temporal UI with this process's payload keys."""
    settings = _settings(ctx)
    if settings.payload_key_file is None:
        bad_input(f"{KEY_FILE_ENV} is not set: there is nothing to decode. Create a key with `keys new`.")
    try:
        codec = EncryptionCodec(load_key_ring(settings.payload_key_file))
        token, created = _token(settings, token_file)
        server = CodecServer(codec, token, ui_origin or _ui_origins(settings), host, port)
    except DurableResearchError as exc:
        bad_input(str(exc))
    except OSError as exc:
        bad_input(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    if not _loopback(host):
        err_console.print(f"[yellow]warning:[/] listening on {host}, not loopback: anyone who can reach it may try.")
    if created:
        console.print(f"New bearer token (shown once; kept in {token_file or _default_token_file(settings)}): {token}")
    console.print(f"codec server on {server.url} (CORS: {', '.join(sorted(server.origins))})")
    console.print(
        f"Show decrypted payloads in the UI: DURABLE_RESEARCH_UI_CODEC_ENDPOINT={server.url}/t/<token> "
        "durable-research server start (after `server stop`), or paste that URL in the UI's codec settings."
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _default_token_file(settings: OrchestrationSettings) -> Path:
    return settings.home.expanduser().resolve() / TOKEN_FILE_NAME


def _token(settings: OrchestrationSettings, token_file: Path | None) -> tuple[str, bool]:
    if token_file is None and os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV], False
    return load_or_create_token((token_file or _default_token_file(settings)).expanduser())


def _ui_origins(settings: OrchestrationSettings) -> list[str]:
    record = EmbeddedServer(settings).read_record() if settings.embedded else None
    port = record.ui_port if record else settings.ui_port
    return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@payloads_app.command("prune")
def prune(
    ctx: typer.Context,
    older_than: float = typer.Option(7.0, "--older-than", min=0, help="Days since the job closed."),
    job: str | None = typer.Option(None, "--job", help="Only this job's payloads."),
    as_json: bool = _JSON,
) -> None:
    """Remove externally stored payloads of closed jobs; a running job's are always kept."""
    settings = _settings(ctx)

    async def go() -> None:
        client = await connect(settings, start_server=False)  # job states come from a running server
        report = await prune_payloads(client, payloads_root(settings), older_than_s=older_than * 86400, job=job)
        if as_json:
            emit_json({"removed": report.removed, "kept": report.kept, "bytes_freed": report.bytes_freed})
            return
        for job_id, size in report.removed.items():
            console.print(f"removed {job_id}: {size / 1e6:.1f} MB")
        for job_id, why in report.kept.items():
            console.print(f"kept {job_id}: {why}")
        if job is not None and not report.removed and not report.kept:
            console.print(f"job {job} has no externally stored payloads.")
        console.print(f"freed {report.bytes_freed / 1e6:.1f} MB")

    try:
        asyncio.run(go())
    except DurableResearchError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.add_typer(payloads_app, name="payloads")
    app.command("codec-server")(codec_server)
