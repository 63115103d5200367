"""With a key file configured, nothing a user typed or a corpus held reaches the dev server in plaintext.

A private server per test module, so its `temporal.db`, WAL and log hold only these jobs.
One job runs with the project's converter and a key; a control job on the same server runs
without one, and its canaries must show up in the same files: proof that the search
would see plaintext if any leaked.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from orchestration.client import ResearchClient
from orchestration.payloads.codec import KEY_FILE_ENV, KeyRing, PayloadDecryptError, new_key_ring, write_key_ring
from orchestration.payloads.converter import data_converter
from orchestration.server import EmbeddedServer, ServerRecord
from orchestration.settings import OrchestrationSettings
from tests.conftest import make_settings
from tests.support.jobs import CORPUS, running_jobs, spec


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerRecord, Path]]:
    home = tmp_path_factory.mktemp("enc-server")
    server = EmbeddedServer(make_settings(home))
    yield server.ensure_started(), home
    server.stop()


def _corpus(folder: Path, canary: str) -> str:
    """The test corpus plus one document that states the canary as a fact about the question's subject."""
    shutil.copytree(CORPUS, folder)
    (folder / f"{canary}.md").write_text(
        f"{canary} is how Temporal and LangGraph make long AI jobs durable: workflows record every step of "
        f"{canary} in their history. Long AI jobs stay durable when Temporal and LangGraph work together.\n"
    )
    return str(folder)


async def _run_job(settings: OrchestrationSettings, record: ServerRecord, work: Path, tag: str) -> tuple[str, bytes]:
    """Run a small job whose question and corpus carry canaries; return its id and its decoded history payloads."""
    client = await Client.connect(record.address, data_converter=data_converter(settings))
    question = f"{tag}Q: how do Temporal and LangGraph make long AI jobs durable?"
    async with running_jobs(client, work) as jobs:
        handle = await jobs.start(spec(question=question, corpus=[_corpus(work / "corpus", f"{tag}C")], collection=tag))
        result = await handle.result()
    assert result.status == "completed"
    history = await handle.handle.fetch_history()
    payloads = [p for event in history.events for p in _payloads(event)]
    codec = client.data_converter.payload_codec
    decoded = await codec.decode(payloads) if codec else payloads
    return handle.job_id, b"".join(p.SerializeToString() for p in decoded)


def _payloads(message: Message) -> Iterator[Payload]:
    """Every Payload anywhere inside a history event (inputs, results, heartbeats, failures, memos)."""
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            items = list(value.values())
        else:
            items = list(value) if field.is_repeated else [value]
        for item in items:
            if isinstance(item, Payload):
                yield item
            elif isinstance(item, Message):
                yield from _payloads(item)


def _stored_bytes(home: Path) -> dict[str, bytes]:
    files = [home / "temporal.db", home / "temporal.db-wal", home / "temporal.db-shm", home / "temporal-server.log"]
    return {f.name: f.read_bytes() for f in files if f.exists()}


async def test_canaries_never_reach_the_server_in_plaintext(
    private_server: tuple[ServerRecord, Path], tmp_path: Path
) -> None:
    record, home = private_server
    key_file = tmp_path / "keys.json"
    write_key_ring(key_file, new_key_ring())
    secret, control = f"canary{uuid.uuid4().hex[:12]}", f"control{uuid.uuid4().hex[:12]}"

    job, seen = await _run_job(make_settings(home, payload_key_file=key_file), record, tmp_path / "enc", secret)
    _, control_seen = await _run_job(make_settings(home), record, tmp_path / "plain", control)

    # Both canaries travelled through Temporal (the question in the job input, the corpus
    # sentence in graph results), so there was something to leak.
    for tag, decoded in ((secret, seen), (control, control_seen)):
        assert f"{tag}Q".encode() in decoded and f"{tag}C".encode() in decoded
    stored = _stored_bytes(home)
    assert "temporal.db" in stored and "temporal.db-wal" in stored
    everything = b"".join(stored.values()).lower()
    for part in "QC":
        assert f"{control}{part}".lower().encode() in everything, "the unencrypted control must be visible"
        leaks = [name for name, data in stored.items() if f"{secret}{part}".lower().encode() in data.lower()]
        assert leaks == [], f"canary {part} in plaintext in {leaks}"
    assert job.startswith("job-"), "with encryption on, the job id must not quote the question"


async def test_worker_with_the_wrong_key_says_which_key_and_setting(
    private_server: tuple[ServerRecord, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A job written with key 'k1' reaches a worker whose file holds only 'k7': its log names both and the fix."""
    record, home = private_server
    right, wrong = tmp_path / "right.json", tmp_path / "wrong.json"
    write_key_ring(right, new_key_ring())
    write_key_ring(wrong, KeyRing("k7", {"k7": os.urandom(32)}))
    starter = await Client.connect(
        record.address, data_converter=data_converter(make_settings(home, payload_key_file=right))
    )
    worker_client = await Client.connect(
        record.address, data_converter=data_converter(make_settings(home, payload_key_file=wrong))
    )

    async with running_jobs(worker_client, tmp_path / "w") as jobs:
        # Start through the right key but on the wrong-key worker's queues.
        handle = await ResearchClient(starter, queues=jobs.queues, tuning=jobs.tuning).start(
            spec(collection="wrongkey")
        )
        try:
            deadline = time.monotonic() + 30
            while not _key_errors(caplog) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
        finally:
            await handle.handle.terminate("test over")
    messages = _key_errors(caplog)
    assert messages, "the worker never reported the key problem"
    assert "'k1'" in messages[0] and "['k7']" in messages[0] and KEY_FILE_ENV in messages[0]


def _key_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [str(r.exc_info[1]) for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], PayloadDecryptError)]
