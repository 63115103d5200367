"""A local External Storage driver: payloads above the threshold live as files under `<home>/payloads/`.

Layout: ``payloads/<workflow id, %-quoted>/<digest>.bin``. Temporal hands the driver the
workflow a payload belongs to (for a workflow's own payloads, its activities' inputs and
results, and a client's start, signal, query and update arguments), so each job's blobs
sit in one folder and `payloads prune` can remove a closed job's folder whole while a
running job's stays. Payloads without a workflow (a standalone activity) go to
``_unscoped/``, which prune never removes.

Names are content addresses: the codec's keyed plaintext digest when it set one (so a
retried activity returning the same result reuses the blob although its ciphertext is
new), else SHA-256 of the stored bytes. A blob is written to a temporary file and renamed,
so a crash never leaves a torn blob under a real name.
"""

from __future__ import annotations

import asyncio
import hashlib
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    StorageDriver,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
    StorageDriverWorkflowInfo,
)

from orchestration.atomic_file import write_atomic
from orchestration.errors import DurableResearchError
from orchestration.payloads.codec import DIGEST_META

PAYLOADS_DIR = "payloads"
UNSCOPED = "_unscoped"
DRIVER_NAME = "durable-research-local"
_HEX = frozenset("0123456789abcdef")


class PayloadMissingError(DurableResearchError):
    """A history references an externally stored payload whose file is gone."""


def job_folder_name(workflow_id: str) -> str:
    """The folder of one workflow's blobs: its id %-quoted, so any id is one safe path segment."""
    return urllib.parse.quote(workflow_id, safe="") or UNSCOPED


def workflow_id_of(folder_name: str) -> str:
    return urllib.parse.unquote(folder_name)


class LocalStorageDriver(StorageDriver):
    """Stores payloads as files in a folder shared by every client and worker of one state folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def name(self) -> str:
        return DRIVER_NAME

    def type(self) -> str:
        return "local-files"

    async def store(self, context: StorageDriverStoreContext, payloads: Sequence[Payload]) -> list[StorageDriverClaim]:
        target = context.target
        wf_id = target.id if isinstance(target, StorageDriverWorkflowInfo) and target.id else None
        folder = job_folder_name(wf_id) if wf_id else UNSCOPED
        return await asyncio.to_thread(self._store_all, folder, list(payloads))

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        return await asyncio.to_thread(lambda: [self._read(c) for c in claims])

    def _store_all(self, folder: str, payloads: list[Payload]) -> list[StorageDriverClaim]:
        claims = []
        for payload in payloads:
            data = payload.SerializeToString()
            digest = payload.metadata.get(DIGEST_META, b"").decode(errors="replace")
            if not digest or not set(digest) <= _HEX:
                digest = hashlib.sha256(data).hexdigest()
            path = self.root / folder / f"{digest}.bin"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                write_atomic(path, data, mode=0o600)
            claims.append(StorageDriverClaim(claim_data={"folder": folder, "digest": digest}))
        return claims

    def _read(self, claim: StorageDriverClaim) -> Payload:
        folder, digest = claim.claim_data.get("folder", ""), claim.claim_data.get("digest", "")
        # Claims come from histories: refuse anything that is not one of our names.
        if job_folder_name(workflow_id_of(folder)) != folder or not digest or not set(digest) <= _HEX:
            raise PayloadMissingError(f"malformed external payload claim {dict(claim.claim_data)}")
        path = self.root / folder / f"{digest}.bin"
        try:
            return Payload.FromString(path.read_bytes())
        except FileNotFoundError:
            raise PayloadMissingError(
                f"external payload {path} is missing: it was pruned or the state folder differs from the "
                "one that stored it (every client and worker must share DURABLE_RESEARCH_HOME/payloads)."
            ) from None
