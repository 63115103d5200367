"""AES-GCM payload encryption with a key ring, so Temporal stores ciphertext only.

The key file (named by ``DURABLE_RESEARCH_PAYLOAD_KEY_FILE``, mode 0600 or stricter)
is JSON::

    {"current": "k2", "keys": {"k1": "<base64 of 32 bytes>", "k2": "<base64 of 32 bytes>"}}

The current key encrypts; every key in ``keys`` decrypts, so after a rotation the
payloads already in histories still decode. Each encrypted payload carries the id of
the key that encrypted it in its metadata; payloads without the encrypted encoding
(histories written before encryption was turned on) pass through untouched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from orchestration.atomic_file import write_atomic
from orchestration.errors import ConfigError, DurableResearchError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE_ENV = "DURABLE_RESEARCH_PAYLOAD_KEY_FILE"
ENCODING = b"binary/encrypted"
KEY_ID_META = "encryption-key-id"
# A keyed digest of the plaintext, set on large payloads only: External Storage names
# blobs by it, so an activity retry that returns the same result stores one blob even
# though every encryption draws a fresh nonce. It reveals equality of two large
# payloads, never their content.
DIGEST_META = "plaintext-digest"
KEY_BYTES = 32
_NONCE_BYTES = 12
_KEY_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class PayloadKeyError(ConfigError):
    """The key file is missing, unreadable, too widely readable or malformed."""


class PayloadDecryptError(DurableResearchError):
    """A payload cannot be decrypted with the configured keys."""


@dataclass(frozen=True)
class KeyRing:
    """Named 256-bit keys and the id of the one that encrypts."""

    current: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise PayloadKeyError(f"the current key '{self.current}' is not among the keys {sorted(self.keys)}.")
        for key_id, key in self.keys.items():
            if not key_id or not set(key_id) <= _KEY_ID_CHARS or len(key_id) > 64:
                raise PayloadKeyError(f"key id {key_id!r} must be 1-64 characters of letters, digits, '.', '_', '-'.")
            if len(key) != KEY_BYTES:
                raise PayloadKeyError(f"key '{key_id}' has {len(key)} bytes; AES-256-GCM needs {KEY_BYTES}.")

    def to_json(self) -> str:
        encoded = {k: base64.b64encode(v).decode() for k, v in self.keys.items()}
        return json.dumps({"current": self.current, "keys": encoded}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str) -> KeyRing:
        try:
            data = json.loads(text)
            current, raw = data["current"], data["keys"]
            if not isinstance(current, str) or not isinstance(raw, dict):
                raise TypeError("'current' must be a string and 'keys' an object")
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in raw.items()}
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise PayloadKeyError(
                f"{source} is not a payload key file ({exc.__class__.__name__}: {exc}). Expected JSON "
                '{"current": "ID", "keys": {"ID": "<base64 of 32 bytes>"}}; `durable-research keys new` writes one.'
            ) from None
        return cls(current=current, keys=keys)

    def rotated(self) -> KeyRing:
        """A ring with a fresh current key; the old keys stay for decryption."""
        n = len(self.keys) + 1
        while f"k{n}" in self.keys:
            n += 1
        new_id = f"k{n}"
        return KeyRing(current=new_id, keys={**self.keys, new_id: secrets.token_bytes(KEY_BYTES)})


def new_key_ring() -> KeyRing:
    return KeyRing(current="k1", keys={"k1": secrets.token_bytes(KEY_BYTES)})


def load_key_ring(path: Path) -> KeyRing:
    """Read a key file, refusing one that group or others can read or write."""
    path = path.expanduser()
    try:
        st = path.stat()
        text = path.read_text()
    except OSError as exc:
        raise PayloadKeyError(
            f"cannot read the payload key file {path} ({exc.strerror or exc}). Fix {KEY_FILE_ENV} or create one "
            f"with `durable-research keys new --file {path}`."
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise PayloadKeyError(f"the payload key file {path} is not a regular file. Fix {KEY_FILE_ENV}.")
    if st.st_mode & 0o077:
        raise PayloadKeyError(
            f"the payload key file {path} has mode {stat.S_IMODE(st.st_mode):04o}; it must be 0600 or stricter. "
            f"Run `chmod 600 {path}`."
        )
    return KeyRing.from_json(text, source=str(path))


def write_key_ring(path: Path, ring: KeyRing) -> None:
    """Write atomically with mode 0600 from the first byte (never briefly world-readable)."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, ring.to_json(), mode=0o600)


class EncryptionCodec(PayloadCodec):
    """Encrypts each payload (metadata and data) with AES-256-GCM under the ring's current key.

    The wire format of an encrypted payload: metadata ``encoding=binary/encrypted`` and
    ``encryption-key-id=<id>``, data = 12-byte random nonce + ciphertext + tag of the
    serialized original payload. The key id is bound as associated data, so a payload
    relabelled with another id fails authentication instead of decrypting oddly.
    """

    def __init__(self, ring: KeyRing, *, digest_min_bytes: int | None = None) -> None:
        # Imported here, not at the top: Temporal's workflow sandbox re-imports every module a
        # workflow's module imports (tests define workflows next to converter imports), and
        # cryptography's native extension refuses a second initialisation.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.ring = ring
        self._aead: dict[str, AESGCM] = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}
        self._digest_key = hmac.new(ring.keys[ring.current], b"durable-research plaintext digest", "sha256").digest()
        self._digest_min_bytes = digest_min_bytes

    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        plain = payload.SerializeToString()
        key_id = self.ring.current
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead[key_id].encrypt(nonce, plain, key_id.encode())
        out = Payload(metadata={"encoding": ENCODING, KEY_ID_META: key_id.encode()}, data=sealed)
        if self._digest_min_bytes is not None and len(plain) >= self._digest_min_bytes:
            out.metadata[DIGEST_META] = hmac.new(self._digest_key, plain, hashlib.sha256).hexdigest().encode()
        return out

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was on (or an external-storage reference)
        key_id = payload.metadata.get(KEY_ID_META, b"").decode(errors="replace")
        aead = self._aead.get(key_id)
        if aead is None:
            raise PayloadDecryptError(
                f"payload encrypted with key '{key_id}', which is not in this process's key file "
                f"(it has {sorted(self.ring.keys)}). Point {KEY_FILE_ENV} at the key file that holds "
                f"'{key_id}'; after a rotation keep old keys in the file."
            )
        from cryptography.exceptions import InvalidTag

        data = payload.data
        try:
            plain = aead.decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise PayloadDecryptError(
                f"payload encrypted with key '{key_id}' does not authenticate with the key of that id in this "
                f"process's key file: the file holds a different key under the same id, or the payload was "
                f"altered. Point {KEY_FILE_ENV} at the key file the payload was written with."
            ) from None
        return Payload.FromString(plain)
