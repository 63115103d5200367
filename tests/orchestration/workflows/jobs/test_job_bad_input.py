"""Bad input is refused before anything starts, with a message that names the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.client import Client

from orchestration.client import JobExistsError
from orchestration.errors import ConfigError
from orchestration.shared import JobSpec
from reasoning import default_registry
from tests.support.jobs import running_jobs, spec


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"question": "  "}, "question"),
        ({"graphs": {"research": "researcher"}}, "must be pinned as name@version"),
        ({"graphs": {}}, "at least one subtask kind"),
        ({"parallelism": 0}, "greater than or equal to 1"),
        ({"collection": "x"}, "collection"),
        ({"publish": {"webhook_url": "ftp://example"}}, "http:// or https://"),
        ({"approval": {"deadline": "PT0S"}}, "deadline"),
    ],
)
def test_spec_validation(override: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JobSpec.model_validate(spec(**override))


async def test_unknown_graph_and_missing_corpus_start_nothing(temporal_client: Client, tmp_path: Path) -> None:
    async with running_jobs(temporal_client, tmp_path) as jobs:
        bad = spec(graphs={"research": "nope@9"}, corpus=["no/such/folder", "pkgdocs:not-a-package-xyz"])
        with pytest.raises(ConfigError) as err:
            await jobs.start(bad, job_id="bad-input-job", registry=default_registry)
    text = str(err.value)
    assert "nope@9" in text and "researcher@1" in text  # lists what is registered
    assert "'no/such/folder' does not exist" in text
    assert "'not-a-package-xyz' is not installed" in text
    with pytest.raises(Exception, match="not found"):
        await temporal_client.get_workflow_handle("bad-input-job").describe()


async def test_job_id_in_use(temporal_client: Client, tmp_path: Path) -> None:
    async with running_jobs(temporal_client, tmp_path) as jobs:
        wait = {"required": True, "deadline": "P3D"}
        handle = await jobs.start(spec(approval=wait), job_id=f"dup-{tmp_path.name}")
        with pytest.raises(JobExistsError, match=f"durable-research status {handle.job_id}"):
            await jobs.start(spec(), job_id=handle.job_id)
        await handle.cancel()
