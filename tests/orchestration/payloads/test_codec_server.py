"""`durable-research codec-server`: the Temporal UI's /decode and /encode, token and CORS enforced."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from orchestration.payloads.codec import EncryptionCodec, load_key_ring, new_key_ring, write_key_ring
from orchestration.server import ServerRecord
from tests.conftest import VENV_BIN
from tests.support.cli_jobs import CLI, cli_env
from tests.support.large_payloads import Document, LargePayloadWorkflow

UI = "http://127.0.0.1:8233"


@contextlib.contextmanager
def codec_server(home: Path) -> Iterator[tuple[str, str, EncryptionCodec]]:
    """A real codec-server process on a free port; yields its URL, the token it printed, and a matching codec."""
    key_file = home / "keys.json"
    write_key_ring(key_file, new_key_ring())
    env = cli_env(home, DURABLE_RESEARCH_PAYLOAD_KEY_FILE=str(key_file))
    args = [CLI, "codec-server", "--port", "0", "--ui-origin", UI]
    proc = subprocess.Popen(args, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        token = re.search(r"token .*: (\S+)$", lines[0].strip())
        url = re.search(r"codec server on (http://\S+)", lines[1])
        assert token and url, lines
        yield url.group(1), token.group(1), EncryptionCodec(load_key_ring(key_file))
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def _ui_body(payloads: list[Payload]) -> str:
    """What the UI posts: the protobuf JSON form of Payloads (base64 metadata values and data)."""
    return json_format.MessageToJson(Payloads(payloads=payloads))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, EncryptionCodec]]:
    with codec_server(tmp_path_factory.mktemp("codec-home")) as running:
        yield running


def test_decode_for_the_ui_with_the_token(server: tuple[str, str, EncryptionCodec]) -> None:
    url, token, codec = server
    original = Payload(metadata={"encoding": b"json/plain"}, data=b'{"question": "secret"}')
    body = _ui_body([codec.encrypt(original)])
    headers = {"Content-Type": "application/json", "Origin": UI, "X-Namespace": "default"}
    for target, extra in ((f"{url}/decode", {"Authorization": f"Bearer {token}"}), (f"{url}/t/{token}/decode", {})):
        resp = httpx.post(target, content=body, headers=headers | extra)
        assert resp.status_code == 200, resp.text
        assert resp.headers["Access-Control-Allow-Origin"] == UI
        [decoded] = resp.json()["payloads"]
        assert base64.b64decode(decoded["data"]) == original.data
        assert base64.b64decode(decoded["metadata"]["encoding"]) == b"json/plain"


def test_encode_then_decode_round_trips(server: tuple[str, str, EncryptionCodec]) -> None:
    url, token, codec = server
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    original = Payload(metadata={"encoding": b"json/plain"}, data=b'"typed in the UI"')
    encoded = httpx.post(f"{url}/encode", content=_ui_body([original]), headers=auth)
    assert encoded.status_code == 200
    [sealed] = json_format.Parse(encoded.text, Payloads()).payloads
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert codec.decrypt(sealed) == original


@pytest.mark.parametrize("auth", [{}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": "x"}])
def test_refused_without_the_right_token(server: tuple[str, str, EncryptionCodec], auth: dict[str, str]) -> None:
    url, _token, codec = server
    body = _ui_body([codec.encrypt(Payload(metadata={"encoding": b"json/plain"}, data=b"1"))])
    for target in (f"{url}/decode", f"{url}/t/not-the-token/decode"):
        resp = httpx.post(target, content=body, headers={"Content-Type": "application/json", "Origin": UI} | auth)
        assert resp.status_code == 401
        assert "secret" not in resp.text and "data" not in resp.json()


def test_cors_answers_the_ui_origin_only(server: tuple[str, str, EncryptionCodec]) -> None:
    url, token, codec = server
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
    ok = httpx.options(f"{url}/decode", headers={"Origin": UI} | preflight)
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == UI
    assert "x-namespace" in ok.headers["Access-Control-Allow-Headers"]

    evil = "http://evil.example"
    refused = httpx.options(f"{url}/decode", headers={"Origin": evil} | preflight)
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    body = _ui_body([codec.encrypt(Payload(metadata={"encoding": b"json/plain"}, data=b"1"))])
    headers = {"Origin": evil, "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    posted = httpx.post(f"{url}/decode", content=body, headers=headers)
    assert posted.status_code == 403 and "payloads" not in posted.json()


def test_token_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    with codec_server(tmp_path) as (_, token, _codec):
        token_file = tmp_path / "codec-token"
        assert token_file.read_text().strip() == token
        assert token_file.stat().st_mode & 0o777 == 0o600
    env = cli_env(tmp_path, DURABLE_RESEARCH_PAYLOAD_KEY_FILE=str(tmp_path / "keys.json"))
    proc = subprocess.Popen([CLI, "codec-server", "--port", "0"], env=env, text=True, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("codec server on") and token not in first
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert json.loads((tmp_path / "keys.json").read_text())["current"] == "k1"


async def test_the_temporal_cli_reads_an_encrypted_history_through_it(
    server: tuple[str, str, EncryptionCodec], temporal_server: ServerRecord, task_queue: str
) -> None:
    """The real Temporal CLI as the codec server's client: the same protocol the UI speaks."""
    url, token, codec = server
    client = await Client.connect(
        temporal_server.address, data_converter=dataclasses.replace(pydantic_data_converter, payload_codec=codec)
    )
    canary = f"canary{uuid.uuid4().hex}"
    wf_id = f"codec-cli-{uuid.uuid4().hex[:8]}"
    # No worker: the start input alone sits encrypted in the history.
    handle = await client.start_workflow(
        LargePayloadWorkflow.run, Document(text=canary), id=wf_id, task_queue=task_queue
    )
    try:
        show = [str(VENV_BIN / "temporal"), "workflow", "show", "-w", wf_id, "--address", temporal_server.address]
        plain = subprocess.run([*show, "--output", "json"], capture_output=True, text=True, timeout=60)
        assert plain.returncode == 0, plain.stderr
        codec_args = ["--codec-endpoint", url, "--codec-auth", f"Bearer {token}", "--output", "json"]
        decoded = subprocess.run([*show, *codec_args], capture_output=True, text=True, timeout=60)
        assert decoded.returncode == 0, decoded.stderr
        for out, visible in ((plain, False), (decoded, True)):
            [started] = [e for e in json.loads(out.stdout)["events"] if e["eventId"] == "1"]
            [payload] = started["workflowExecutionStartedEventAttributes"]["input"]["payloads"]
            assert (canary.encode() in base64.b64decode(payload["data"])) is visible
    finally:
        await handle.terminate("test over")
