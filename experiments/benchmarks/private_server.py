"""A benchmark's own Temporal dev server (free ports, state in a folder) and a client to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import Client

from orchestration.payloads.converter import data_converter
from orchestration.server import EmbeddedServer, ServerRecord
from orchestration.settings import OrchestrationSettings


@contextlib.asynccontextmanager
async def private_server(home: Path) -> AsyncIterator[tuple[Client, ServerRecord]]:
    """Start a dev server with its state under `home`; yield a client and its record; stop it after."""
    settings = OrchestrationSettings(home=home, temporal_port=0, ui_port=0, temporal_address=None)
    server = EmbeddedServer(settings)
    record = server.ensure_started()
    try:
        yield await Client.connect(record.address, data_converter=data_converter(settings)), record
    finally:
        server.stop()
