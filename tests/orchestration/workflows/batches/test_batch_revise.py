"""revise, as for a research job: a reviewer's notes re-run the batch's final reduce step (that step only),
the batch waits for approval again, and the approved report is the revised one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import Client

from orchestration.shared.batch import BatchProgress
from reasoning.models import read_call_log
from tests.support.batches import batch_workers, refusal, small_spec, start, write_corpus

pytestmark = pytest.mark.timeout(120)

NOTES = "Lead with what retries guarantee."


async def _awaiting(handle, revisions: int) -> BatchProgress:  # type: ignore[no-untyped-def]
    while True:
        p, state = await handle.progress(), await handle.state()
        if p.phase == "awaiting_approval" and len(state.revisions) == revisions:
            return p
        assert p.phase not in ("failed", "completed"), p.error
        await asyncio.sleep(0.1)


def _reduce_calls(home: Path) -> int:
    return sum(c["task"] == "synthesize" for c in read_call_log(home / "calls.jsonl"))


async def test_revise_reruns_the_final_reduce_with_the_notes(temporal_client: Client, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", 12)
    home = tmp_path / "home"
    async with batch_workers(temporal_client, home) as (batches, deps):
        spec = small_spec(approval={"required": True})  # R = 4: 3 + 1 reduce steps
        handle = await start(batches, deps, spec, [str(corpus)], "batch-revise")
        first = await _awaiting(handle, 0)
        assert first.report is not None and _reduce_calls(home) == 4
        assert "revise needs notes" in await refusal(handle.revise(by="reviewer", notes="  "))

        await handle.revise(by="reviewer", notes=NOTES)
        second = await _awaiting(handle, 1)
        assert second.report is not None and second.report.key != first.report.key
        assert _reduce_calls(home) == 5  # the final step again, not the tree
        await handle.approve(by="reviewer")
        result = await handle.result()
        state = await handle.state()

    assert result.status == "completed" and result.report is not None and result.report.key == second.report.key
    before, after = deps.artifacts.get_text(first.report.key), deps.artifacts.get_text(result.report.key)
    assert f"Revised (revision 1) with the reviewer's notes: {NOTES}" in after and "Revised" not in before
    assert before.split("\n")[2] != after.split("\n")[2]  # the notes reached the reduce graph's model
    assert state.revisions == [NOTES] and state.decided_by == "reviewer"
    assert deps.artifacts.get_text("published/batch-revise.md") == after
