"""The AES-GCM codec and its key file: round trip, rotation, clear errors for wrong keys and loose files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from orchestration.payloads.codec import (
    DIGEST_META,
    ENCODING,
    KEY_FILE_ENV,
    KEY_ID_META,
    EncryptionCodec,
    KeyRing,
    PayloadDecryptError,
    PayloadKeyError,
    load_key_ring,
    new_key_ring,
    write_key_ring,
)

SECRET = b'"the launch code is 0000-canary"'


def _payload(data: bytes = SECRET) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_round_trip_hides_the_data_and_names_the_key() -> None:
    codec = EncryptionCodec(new_key_ring())
    [sealed] = await codec.encode([_payload()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_META] == b"k1"
    assert b"canary" not in sealed.SerializeToString()
    [opened] = await codec.decode([sealed])
    assert opened == _payload()


async def test_rotation_keeps_old_payloads_readable(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    write_key_ring(key_file, new_key_ring())
    [old] = await EncryptionCodec(load_key_ring(key_file)).encode([_payload()])

    write_key_ring(key_file, load_key_ring(key_file).rotated())
    rotated = EncryptionCodec(load_key_ring(key_file))
    [new] = await rotated.encode([_payload(b'"new"')])

    assert rotated.ring.current == "k2" and new.metadata[KEY_ID_META] == b"k2"
    assert await rotated.decode([old, new]) == [_payload(), _payload(b'"new"')]


async def test_unknown_key_id_names_the_key_and_the_setting() -> None:
    [sealed] = await EncryptionCodec(KeyRing("old", {"old": os.urandom(32)})).encode([_payload()])
    with pytest.raises(PayloadDecryptError) as err:
        await EncryptionCodec(new_key_ring()).decode([sealed])
    assert "'old'" in str(err.value) and KEY_FILE_ENV in str(err.value)


async def test_same_id_different_key_is_refused_clearly() -> None:
    [sealed] = await EncryptionCodec(new_key_ring()).encode([_payload()])
    with pytest.raises(PayloadDecryptError, match="does not authenticate"):
        await EncryptionCodec(new_key_ring()).decode([sealed])


async def test_relabelled_key_id_fails_authentication() -> None:
    """The key id is associated data: moving a payload under another id cannot decrypt it."""
    key = os.urandom(32)
    codec = EncryptionCodec(KeyRing("a", {"a": key, "b": key}))
    [sealed] = await codec.encode([_payload()])
    sealed.metadata[KEY_ID_META] = b"b"
    with pytest.raises(PayloadDecryptError):
        await codec.decode([sealed])


async def test_unencrypted_payloads_pass_through() -> None:
    """Histories written before encryption was turned on still decode."""
    assert await EncryptionCodec(new_key_ring()).decode([_payload()]) == [_payload()]


async def test_digest_only_on_large_payloads_and_stable_across_encryptions() -> None:
    codec = EncryptionCodec(new_key_ring(), digest_min_bytes=1000)
    small, big1, big2 = await codec.encode([_payload(), _payload(b"x" * 2000), _payload(b"x" * 2000)])
    assert DIGEST_META not in small.metadata
    assert big1.data != big2.data  # fresh nonces
    assert big1.metadata[DIGEST_META] == big2.metadata[DIGEST_META]


def test_key_file_is_written_0600_and_loose_files_are_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    write_key_ring(key_file, new_key_ring())
    assert key_file.stat().st_mode & 0o777 == 0o600
    key_file.chmod(0o640)
    with pytest.raises(PayloadKeyError, match=r"0640.*chmod 600"):
        load_key_ring(key_file)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("not json", "not a payload key file"),
        (json.dumps({"current": "k1", "keys": {"k1": "c2hvcnQ="}}), "needs 32"),
        (json.dumps({"current": "k2", "keys": {"k1": "A" * 44}}), "current key 'k2'"),
        (json.dumps({"current": "k1", "keys": {"k1": "!!"}}), "not a payload key file"),
    ],
)
def test_malformed_key_files_get_one_clear_error(tmp_path: Path, content: str, fragment: str) -> None:
    key_file = tmp_path / "keys.json"
    key_file.write_text(content)
    key_file.chmod(0o600)
    with pytest.raises(PayloadKeyError, match=fragment):
        load_key_ring(key_file)


def test_missing_key_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(PayloadKeyError, match=KEY_FILE_ENV):
        load_key_ring(tmp_path / "absent.json")
