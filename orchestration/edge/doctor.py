"""Health checks behind `durable-research doctor`: each says what is wrong and how to fix it."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from orchestration.errors import DurableResearchError
from orchestration.payloads.codec import KEY_FILE_ENV, load_key_ring
from orchestration.server import EmbeddedServer, ensure_state_dir, find_temporal_binary
from orchestration.settings import OrchestrationSettings
from retrieval import MemorySettings, lexical_store, make_embeddings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _binary(settings: OrchestrationSettings) -> str:
    binary = find_temporal_binary(settings)
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=20)
    if out.returncode != 0:
        raise DurableResearchError(f"{binary} --version failed: {out.stderr.strip()}")
    return f"{binary} ({out.stdout.strip()})"


def _state_dir(settings: OrchestrationSettings) -> str:
    return f"{ensure_state_dir(settings.home)} is writable"


def _server(settings: OrchestrationSettings) -> str:
    if not settings.embedded:
        return f"external cluster at {settings.address()} (TEMPORAL_ADDRESS)"
    record = EmbeddedServer(settings).running()
    if record is None:
        raise DurableResearchError("the embedded server is not running: `durable-research server start`")
    return f"pid {record.pid} on {record.address}, UI {record.ui_url}"


def _namespace(settings: OrchestrationSettings) -> str:
    address = settings.address()
    if settings.embedded:
        record = EmbeddedServer(settings).running()
        if record is None:
            raise DurableResearchError("no server to ask (see the server check)")
        address = record.address

    async def describe() -> str:
        client = await asyncio.wait_for(Client.connect(address, namespace=settings.namespace), timeout=10)
        resp = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=settings.namespace))
        return f"'{resp.namespace_info.name}' is registered on {address}"

    try:
        return asyncio.run(describe())
    except TimeoutError as exc:
        raise DurableResearchError(f"{address} did not answer within 10 s") from exc
    except Exception as exc:  # the SDK raises RPCError/RuntimeError variants; report any
        raise DurableResearchError(
            f"namespace '{settings.namespace}' on {address}: {exc}. Create it with "
            f"`temporal operator namespace create {settings.namespace}` or set TEMPORAL_NAMESPACE."
        ) from exc


def _payload_encryption(settings: OrchestrationSettings) -> str:
    if settings.payload_key_file is None:
        return f"off: Temporal stores payloads in plaintext (set {KEY_FILE_ENV}; `durable-research keys new`)"
    ring = load_key_ring(settings.payload_key_file)
    return f"on: current key '{ring.current}' of {len(ring.keys)} in {settings.payload_key_file}"


def _embeddings(_: OrchestrationSettings) -> str:
    """The embedder the memory settings name (WordLlama from its wheel by default) loads and answers."""
    model = make_embeddings(MemorySettings())
    vector = model.embed_query("does the embedding model load?")
    if len(vector) != model.dimension:
        raise DurableResearchError(f"expected {model.dimension} dimensions, got {len(vector)}")
    return f"{model.model_id} loaded, {len(vector)} dimensions"


def _lexical_index(_: OrchestrationSettings) -> str:
    """Hybrid search keeps its lexical index in SQLite FTS5 (some Python builds lack it) or in Postgres."""
    memory = MemorySettings()
    if memory.lexical == "none":
        return "off: dense-only search (DURABLE_RESEARCH_MEMORY_LEXICAL=none)"
    if memory.lexical == "postgres":
        try:
            index = lexical_store(memory, None)
            assert index is not None
            index.open("doctor-probe").drop()  # creates and drops a probe table: connect and write rights
        except Exception as exc:
            raise DurableResearchError(f"the Postgres lexical index: {exc}") from None
        return "Postgres full-text index answers (DURABLE_RESEARCH_MEMORY_LEXICAL_URL)"
    with sqlite3.connect(":memory:") as db:
        try:
            db.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
        except sqlite3.OperationalError as exc:
            raise DurableResearchError(
                f"this Python's SQLite ({sqlite3.sqlite_version}) has no FTS5: {exc}. Use a Python built with "
                "FTS5, or set DURABLE_RESEARCH_MEMORY_LEXICAL=none for dense-only search."
            ) from None
    return f"SQLite {sqlite3.sqlite_version} has FTS5 (BM25 ranking)"


CHECKS: tuple[tuple[str, Callable[[OrchestrationSettings], str]], ...] = (
    ("temporal binary", _binary),
    ("state folder", _state_dir),
    ("temporal server", _server),
    ("namespace", _namespace),
    ("payload encryption", _payload_encryption),
    ("embeddings", _embeddings),
    ("lexical index", _lexical_index),
)


def run_checks(settings: OrchestrationSettings) -> list[Check]:
    """Run every check; one failing does not hide the others."""
    results = []
    for name, check in CHECKS:
        try:
            results.append(Check(name, True, check(settings)))
        except Exception as exc:  # doctor reports every failure instead of raising
            results.append(Check(name, False, str(exc)))
    return results
