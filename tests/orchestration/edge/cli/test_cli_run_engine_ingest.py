"""`run --ingest-engine-min-documents N` sends a corpus of at least N documents through the batch engine
(below N the single ingest activity runs: tests/orchestration/workflows/jobs/test_job_ingest_engine.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli_jobs import CORPUS, QUESTION, cli_json, stop_server

pytestmark = pytest.mark.timeout(180)

DOCUMENTS = len(list(Path(CORPUS).iterdir()))


def test_run_flag_ingests_through_the_engine(tmp_path: Path) -> None:
    home = tmp_path / "state"
    try:
        engine = cli_json(
            home, "run", QUESTION, "--corpus", CORPUS, "--model", "fake",
            "--ingest-engine-min-documents", str(DOCUMENTS), "--job-id", "via-engine",
        )  # fmt: skip
        child = cli_json(home, "status", "via-engine/ingest")
    finally:
        stop_server(home)

    assert engine["status"] == "completed", engine
    assert (child["phase"], child["total"], child["done"], child["failed"]) == ("completed", DOCUMENTS, DOCUMENTS, 0)
