"""Restarting the embedded server on the same database keeps a completed workflow's history."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from orchestration.server import EmbeddedServer
from tests.conftest import make_settings


@activity.defn(name="test.shout")
async def shout(text: str) -> str:
    return text.upper()


@workflow.defn(name="test.ShoutWorkflow")
class ShoutWorkflow:
    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_activity(shout, text, start_to_close_timeout=timedelta(seconds=10))


async def test_history_survives_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home")
    server = EmbeddedServer(settings)
    record = server.ensure_started()
    workflow_id = f"wf-{uuid.uuid4()}"
    queue = f"q-{uuid.uuid4()}"
    try:
        client = await Client.connect(record.address)
        async with Worker(
            client, task_queue=queue, workflows=[ShoutWorkflow], activities=[shout],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):  # fmt: skip
            result = await client.execute_workflow(ShoutWorkflow.run, "durable", id=workflow_id, task_queue=queue)
        assert result == "DURABLE"
    finally:
        server.stop()

    restarted = EmbeddedServer(settings).ensure_started()
    try:
        assert restarted.pid != record.pid
        client = await Client.connect(restarted.address)
        handle = client.get_workflow_handle(workflow_id)
        assert await handle.result() == "DURABLE"
        history = await handle.fetch_history()
        kinds = [e.event_type for e in history.events]
        assert len(kinds) >= 11  # started, tasks, activity scheduled/started/completed, completed
    finally:
        EmbeddedServer(settings).stop()
