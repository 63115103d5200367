"""The one data converter every client, worker, replayer and experiment uses.

pydantic JSON for values, then (when ``DURABLE_RESEARCH_PAYLOAD_KEY_FILE`` is set) AES-GCM
encryption of every payload and of failure messages, then External Storage for payloads
at or above ``DURABLE_RESEARCH_PAYLOAD_SIZE_THRESHOLD`` (blobs under ``<home>/payloads``,
ciphertext when encryption is on, because the codec runs first).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, ExternalStorage

from orchestration.payloads.codec import EncryptionCodec, load_key_ring
from orchestration.payloads.store import PAYLOADS_DIR, LocalStorageDriver
from orchestration.settings import OrchestrationSettings


def payloads_root(settings: OrchestrationSettings) -> Path:
    return settings.home.expanduser().resolve() / PAYLOADS_DIR


def data_converter(settings: OrchestrationSettings) -> DataConverter:
    """Build the converter for these settings; a bad key file raises PayloadKeyError here, before any call."""
    threshold = settings.payload_size_threshold
    storage = ExternalStorage(drivers=[LocalStorageDriver(payloads_root(settings))], payload_size_threshold=threshold)
    if settings.payload_key_file is None:
        return dataclasses.replace(pydantic_data_converter, external_storage=storage)
    codec = EncryptionCodec(load_key_ring(settings.payload_key_file), digest_min_bytes=threshold)
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        # Error messages can quote what a user typed or a graph produced: encrypt them too.
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
        external_storage=storage,
    )
