"""`keys new` (mode 0600, rotation, never overwrite), a loose key file refused before anything starts,
and `server start --ui-codec-endpoint` reaching the dev server's command line, `doctor`'s key check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.edge.doctor import CHECKS
from orchestration.payloads.codec import PayloadKeyError, load_key_ring, new_key_ring, write_key_ring
from tests.conftest import make_settings
from tests.support.cli_jobs import cli


def test_keys_new_writes_0600_and_rotation_keeps_old_keys(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "keys.json"
    first = cli(tmp_path, "keys", "new", "--file", str(key_file))
    assert first.returncode == 0, first.stderr
    assert key_file.stat().st_mode & 0o777 == 0o600
    k1 = load_key_ring(key_file).keys["k1"]

    again = cli(tmp_path, "keys", "new", "--file", str(key_file))
    assert again.returncode == 2 and "--rotate" in again.stderr and "Traceback" not in again.stderr
    assert load_key_ring(key_file).keys["k1"] == k1

    rotated = cli(tmp_path, "keys", "new", "--rotate", DURABLE_RESEARCH_PAYLOAD_KEY_FILE=str(key_file))
    assert rotated.returncode == 0, rotated.stderr
    ring = load_key_ring(key_file)
    assert ring.current == "k2" and ring.keys["k1"] == k1 and len(ring.keys["k2"]) == 32
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_keys_new_without_a_destination_says_how(tmp_path: Path) -> None:
    out = cli(tmp_path, "keys", "new")
    assert out.returncode == 2 and "--file" in out.stderr and "DURABLE_RESEARCH_PAYLOAD_KEY_FILE" in out.stderr


def test_a_world_readable_key_file_stops_a_command_before_a_server_starts(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    assert cli(tmp_path, "keys", "new", "--file", str(key_file)).returncode == 0
    key_file.chmod(0o644)
    out = cli(tmp_path, "jobs", DURABLE_RESEARCH_PAYLOAD_KEY_FILE=str(key_file))
    assert out.returncode != 0
    assert "chmod 600" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "temporal-server.json").exists()


def test_server_start_passes_the_ui_codec_endpoint(tmp_path: Path) -> None:
    endpoint = "http://127.0.0.1:8081/t/some-token"
    out = cli(tmp_path, "server", "start", "--json", "--ui-codec-endpoint", endpoint)
    assert out.returncode == 0, out.stderr
    pid = json.loads(out.stdout)["pid"]
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert args[args.index(b"--ui-codec-endpoint") + 1] == endpoint.encode()
    finally:
        assert cli(tmp_path, "server", "stop").returncode == 0


def test_doctor_reports_the_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    write_key_ring(key_file, new_key_ring())
    check = dict(CHECKS)["payload encryption"]
    assert "on: current key 'k1'" in check(make_settings(tmp_path, payload_key_file=key_file))
    assert check(make_settings(tmp_path)).startswith("off")
    key_file.chmod(0o604)
    with pytest.raises(PayloadKeyError, match="chmod 600"):
        check(make_settings(tmp_path, payload_key_file=key_file))
