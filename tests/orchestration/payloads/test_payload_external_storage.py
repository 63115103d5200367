"""Payloads above the threshold go to External Storage under the state folder, encrypted, instead of failing.

A 5 MB document crosses every kind of boundary (workflow input, activity input and
result, workflow result) on the real dev server; without External Storage the same
start is refused. `payloads prune` removes a closed workflow's blobs and keeps a running one's.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.worker import Worker

from orchestration.payloads.codec import new_key_ring, write_key_ring
from orchestration.payloads.converter import data_converter
from orchestration.payloads.store import job_folder_name
from orchestration.server import ServerRecord
from tests.conftest import make_settings
from tests.support.cli_jobs import cli
from tests.support.large_payloads import Document, LargePayloadWorkflow, upper

MB = 1024 * 1024


def _document(canary: str) -> str:
    """5 MB of text no compressor shrinks much, with a canary in the middle."""
    noise = os.urandom(5 * MB // 2).hex()
    return noise[: len(noise) // 2] + canary + noise[len(noise) // 2 :]


async def _encrypted_client(server: ServerRecord, home: Path) -> Client:
    key_file = home / "keys.json"
    if not key_file.exists():
        write_key_ring(key_file, new_key_ring())
    settings = make_settings(home, payload_key_file=key_file)
    return await Client.connect(server.address, data_converter=data_converter(settings))


async def test_5mb_document_round_trips_as_ciphertext_blobs(
    temporal_server: ServerRecord, tmp_path: Path, task_queue: str
) -> None:
    canary = f"canary{uuid.uuid4().hex}"
    text = _document(canary)
    client = await _encrypted_client(temporal_server, tmp_path)
    wf_id = f"large-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=task_queue, workflows=[LargePayloadWorkflow], activities=[upper]):
        result = await client.execute_workflow(
            LargePayloadWorkflow.run, Document(text=text), id=wf_id, task_queue=task_queue
        )
        history = await client.get_workflow_handle(wf_id).fetch_history()

    assert result.text == text.upper()
    blobs = sorted((tmp_path / "payloads" / job_folder_name(wf_id)).glob("*.bin"))
    # The start input and the activity input are one document, the activity result and the
    # workflow result another: content addresses store each once.
    assert len(blobs) == 2
    for blob in blobs:
        data = blob.read_bytes()
        assert len(data) > 5 * MB
        assert canary.encode() not in data and canary.upper().encode() not in data
        assert blob.stat().st_mode & 0o777 == 0o600
    assert sum(e.ByteSize() for e in history.events) < 64 * 1024, "the history should hold references only"


async def test_without_external_storage_the_same_start_is_refused(
    temporal_server: ServerRecord, task_queue: str
) -> None:
    """The control: the plain converter sends the 5 MB inline and the server refuses it."""
    plain = await Client.connect(temporal_server.address, data_converter=pydantic_data_converter)
    with pytest.raises(RPCError, match=r"(?i)size|larger|exceed"):
        await plain.start_workflow(
            LargePayloadWorkflow.run,
            Document(text=_document("x")),
            id=f"inline-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )


async def test_prune_removes_a_closed_jobs_blobs_and_keeps_a_running_ones(
    temporal_server: ServerRecord, tmp_path: Path, task_queue: str
) -> None:
    client = await _encrypted_client(temporal_server, tmp_path)
    done_id, running_id = f"done-{uuid.uuid4().hex[:8]}", f"running-{uuid.uuid4().hex[:8]}"
    text = _document("prune")
    root = tmp_path / "payloads"
    async with Worker(client, task_queue=task_queue, workflows=[LargePayloadWorkflow], activities=[upper]):
        await client.execute_workflow(LargePayloadWorkflow.run, Document(text=text), id=done_id, task_queue=task_queue)
        running = await client.start_workflow(
            LargePayloadWorkflow.run, Document(text=text, wait_for_release=True), id=running_id, task_queue=task_queue
        )
        running_blobs = sorted((root / job_folder_name(running_id)).iterdir())
        assert running_blobs and (root / job_folder_name(done_id)).is_dir()

        out = cli(
            tmp_path, "payloads", "prune", "--older-than", "0", "--json",
            TEMPORAL_ADDRESS=temporal_server.address,
            DURABLE_RESEARCH_PAYLOAD_KEY_FILE=str(tmp_path / "keys.json"),
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert list(report["removed"]) == [done_id] and report["bytes_freed"] > 10 * MB
        assert report["kept"] == {running_id: "running"}
        assert not (root / job_folder_name(done_id)).exists()
        assert sorted((root / job_folder_name(running_id)).iterdir()) == running_blobs

        # The running job still reads its input from the blob that survived, and finishes.
        history = await running.fetch_history()
        start = history.events[0].workflow_execution_started_event_attributes.input.payloads
        [doc] = await client.data_converter.decode(list(start), [Document])
        assert doc.text == text
        await running.signal(LargePayloadWorkflow.release)
        assert (await running.result()).text == text.upper()
