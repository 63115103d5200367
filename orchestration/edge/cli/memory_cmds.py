"""`ingest`, `search` and `reindex`: the semantic memory from the command line."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.table import Table

from orchestration.edge.cli.context import env
from orchestration.edge.cli.output import bad_input, console, emit_json, err_console, fail
from retrieval import (
    DEFAULT_COLLECTION,
    IngestProgress,
    IngestReport,
    MemoryConfigError,
    MemorySettings,
    RetrievalError,
    SemanticMemory,
    SourceError,
    ingest,
    open_memory,
)

_JSON = typer.Option(False, "--json", help="Machine-readable output.")
_COLLECTION = typer.Option(DEFAULT_COLLECTION, "--collection", "-c", help="Chroma collection.")


def _open(ctx: typer.Context, collection: str, *, create: bool = True) -> tuple[SemanticMemory, MemorySettings]:
    environment = env(ctx)
    settings = environment.memory
    try:
        return open_memory(settings, collection, home=environment.orchestration.home, create=create), settings
    except RetrievalError as exc:
        _refuse(exc)


def ingest_cmd(
    ctx: typer.Context,
    sources: list[str] = typer.Argument(..., help="Files, folders, pkgdocs:PACKAGE[,PACKAGE...] or http(s) URLs."),
    collection: str = _COLLECTION,
    as_json: bool = _JSON,
) -> None:
    """Chunk, embed and index SOURCES; re-running on unchanged content adds nothing."""
    memory, settings = _open(ctx, collection)
    try:
        if as_json:
            report = ingest(sources, memory, settings=settings)
        else:
            with console.status("Ingesting...") as status:

                def show(p: IngestProgress) -> None:
                    status.update(f"Ingesting {p.source}: {p.chunks} chunks, {p.added} new")

                report = ingest(sources, memory, settings=settings, progress=show)
    except RetrievalError as exc:
        _refuse(exc)
    finally:
        _close(memory)
    if as_json:
        emit_json(report.model_dump() | {"collection": collection})
    else:
        _print_report(report, collection)


def _print_report(report: IngestReport, collection: str) -> None:
    console.print(
        f"Collection [bold]{collection}[/]: {report.files} documents, {report.chunks} chunks "
        f"({report.added} new, {report.unchanged} unchanged, {report.replaced} stale removed) "
        f"in {report.seconds:.1f} s."
    )
    for skipped in report.skipped:
        err_console.print(f"[yellow]skipped[/] {skipped.path}: {skipped.reason}", highlight=False)
    for warning in report.warnings:
        err_console.print(f"[yellow]warning[/] {warning}", highlight=False)


def search_cmd(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="The question to search for."),
    collection: str = _COLLECTION,
    k: int = typer.Option(5, "-k", "--k", min=1, max=100, help="How many hits."),
    where: list[str] = typer.Option(
        [], "--where", "-w", help="Metadata filter KEY=VALUE (repeatable; all must match)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Show the K chunks most similar to QUERY, with source, chunk id and score."""
    if not query.strip():
        bad_input(
            "The query is empty; pass the question to search for, "
            'e.g. `durable-research search "How are activities retried?"`.'
        )
    filters = _parse_where(where)
    memory, _ = _open(ctx, collection, create=False)  # searching never creates an empty collection
    try:
        if memory.count() == 0:
            fail(
                f"Collection {collection!r} is empty. Index something first, e.g. "
                "`durable-research ingest pkgdocs:temporalio,langgraph`."
            )
        hits = memory.query(query, k=k, where=filters)
    except RetrievalError as exc:
        _refuse(exc)
    finally:
        _close(memory)
    if as_json:
        emit_json(
            [
                {
                    "source": h.source,
                    "id": h.id,
                    "score": round(h.score, 4),
                    "title": h.metadata.get("title", ""),
                    "chunk": h.metadata.get("chunk"),
                    "text": h.text,
                }
                for h in hits
            ]
        )
        return
    table = Table(title=f"{collection}: {query}")
    table.add_column("score", justify="right")
    table.add_column("source", overflow="fold")
    table.add_column("text", overflow="fold")
    for h in hits:
        snippet = " ".join(h.text.split())[:240]
        table.add_row(f"{h.score:.3f}", f"{h.source}\n[dim]{h.id}[/]", snippet)
    console.print(table)


def reindex_cmd(ctx: typer.Context, collection: str = _COLLECTION, as_json: bool = _JSON) -> None:
    """Move COLLECTION to the configured embedder and lexical index, keeping every document.

    The settings come from DURABLE_RESEARCH_MEMORY_EMBEDDINGS / _LEXICAL; an interrupted
    reindex is finished by running it again.
    """
    from retrieval import reindex  # loads chromadb (seconds): only for the command that needs it at once

    environment = env(ctx)
    try:
        with console.status(f"Reindexing {collection}..."):
            report = reindex(environment.memory, collection, home=environment.orchestration.home)
    except RetrievalError as exc:
        _refuse(exc)
    if as_json:
        emit_json(
            {
                "collection": report.collection,
                "documents": report.documents,
                "before": report.before,
                "after": report.after,
            }
        )
        return
    console.print(
        f"Collection [bold]{collection}[/]: {report.documents} documents reindexed "
        f"with {report.after.get('embedding_model', 'the configured model')}, "
        f"lexical index {report.after.get('lexical_index', '?')}."
    )


def _refuse(exc: RetrievalError) -> NoReturn:
    """A bad source, name or setting is the user's input (exit 2); a store that fails is not (1)."""
    if isinstance(exc, (SourceError, MemoryConfigError)):
        bad_input(str(exc))
    fail(str(exc))


def _parse_where(pairs: list[str]) -> dict[str, str | int] | None:
    """``["job=j1", "chunk=0"]`` -> ``{"job": "j1", "chunk": 0}`` (integers stay integers).

    Chroma stores 64-bit integers: an integer outside that range can match nothing, so it is
    refused with the range rather than silently compared as text.
    """
    filters: dict[str, str | int] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            bad_input(f"--where expects KEY=VALUE, got {pair!r}.")
        number = int(value) if value.lstrip("-").isdigit() and value.count("-") <= 1 else None
        if number is not None and not _INT64[0] <= number <= _INT64[1]:
            bad_input(f"--where {key}: an integer must be between {_INT64[0]} and {_INT64[1]} (64-bit metadata).")
        filters[key] = number if number is not None else value
    return filters or None


_INT64 = (-(2**63), 2**63 - 1)


def _close(memory: SemanticMemory) -> None:
    close = getattr(memory, "close", None)
    if callable(close):
        close()


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
    app.command("search")(search_cmd)
    app.command("reindex")(reindex_cmd)
