"""The publish saga: a failed step, or a rejection mid-publish, undoes what was published, in reverse."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from orchestration.client import JobEndedError
from orchestration.shared import names
from tests.support.jobs import make_deps, running_jobs, spec, wait_for_phase
from tests.support.webhook import webhook

UNDO_ALL = [names.RETRACT_NOTIFICATION, names.UNINDEX_REPORT, names.UNPUBLISH_ARTIFACT]


async def test_publish_failure_compensates(temporal_client: Client, tmp_path: Path) -> None:
    deps = make_deps(tmp_path)
    with webhook(400) as hook:  # 400: non-retryable, the notify step fails at once
        async with running_jobs(temporal_client, tmp_path, deps=deps) as jobs:
            handle = await jobs.start(spec(publish={"webhook_url": hook.url}))
            with pytest.raises(JobEndedError, match="publish failed") as ended:
                await handle.result()
    state = ended.value.state
    assert state is not None and state.phase == "failed"
    assert [p.step for p in state.published] == ["artifact", "index"]
    assert state.compensated == UNDO_ALL  # the failed step's own undo first, then in reverse
    assert not (tmp_path / "artifacts" / "published" / f"{handle.job_id}.md").exists()
    assert deps.memory("research-reports").count(where={"report_of": handle.job_id}) == 0
    assert [r["kind"] for r in hook.received] == ["published", "retraction"]
    assert state.report is not None, "partial results are kept"


async def test_reject_during_publish_compensates(temporal_client: Client, tmp_path: Path) -> None:
    deps = make_deps(tmp_path)
    with webhook(default=503) as hook:  # retryable: the notify step keeps retrying
        async with running_jobs(temporal_client, tmp_path, deps=deps) as jobs:
            handle = await jobs.start(spec(publish={"webhook_url": hook.url}))
            await wait_for_phase(handle, "publishing")
            while not hook.received:  # artifact and index are done; notify is retrying
                await wait_for_phase(handle, "publishing")
            hook.default = 200  # the receiver recovers, so the retraction gets through
            await handle.reject(by="carol", notes="recall: wrong numbers")
            result = await handle.result()
    assert result.status == "rejected"
    assert [p.step for p in result.published] == ["artifact", "index"]
    assert result.compensated == UNDO_ALL
    assert deps.memory("research-reports").count(where={"report_of": handle.job_id}) == 0
    assert not (tmp_path / "artifacts" / "published" / f"{handle.job_id}.md").exists()
    assert hook.received[-1]["kind"] == "retraction"
