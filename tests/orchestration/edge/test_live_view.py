"""The live views' one core: each wait's prompt said once, said again for a new wait, with the right command."""

from __future__ import annotations

from orchestration.edge.live_view import WaitPrompts
from orchestration.shared.batch import BatchProgress, ReduceProgress
from orchestration.shared.messages import JobProgress


def _job(phase: str, note: str | None = None) -> JobProgress:
    return JobProgress.model_validate(
        {
            "job_id": "job-1", "phase": phase, "run_number": 1, "pending": 0, "running": 0, "done": 1,
            "failed": 0, "subtasks": [], "report": None, "approval": "pending", "budget_note": note,
        }
    )  # fmt: skip


def _batch(phase: str, note: str | None = None, reduce_error: str | None = None) -> BatchProgress:
    return BatchProgress.model_validate(
        {
            "job_id": "batch-1", "phase": phase, "paused": False, "graph": "summarize@1", "total": 3,
            "done": 1, "failed": 0, "reused": 0, "running_shards": 1, "shards": [], "budget_note": note,
            "reduce": ReduceProgress(error=reduce_error) if reduce_error else None,
        }
    )  # fmt: skip


def _said(snapshots: list[JobProgress] | list[BatchProgress]) -> list[list[str]]:
    prompts = WaitPrompts()
    return [prompts.new(p) for p in snapshots]


def test_each_prompt_is_said_once_per_wait_and_again_for_a_new_wait() -> None:
    said = _said([
        _job("writing"), _job("awaiting_approval"), _job("awaiting_approval"),
        _job("writing"), _job("awaiting_approval"),  # revised: a second wait for approval
        _job("researching"), _job("awaiting_budget", "tokens 10/10"), _job("awaiting_budget", "tokens 10/10"),
        _job("researching"), _job("awaiting_budget", "tokens 20/20"),
    ])  # fmt: skip
    assert [len(s) for s in said] == [0, 1, 0, 0, 1, 0, 1, 0, 0, 1]
    assert said[1] == said[4]
    assert said[6][0].startswith("Budget reached (tokens 10/10). In another terminal, raise it")
    assert "(tokens 20/20)" in said[9][0]


def test_a_job_and_a_batch_are_told_the_same_words_with_their_own_ids() -> None:
    job = _said([_job("awaiting_approval"), _job("awaiting_budget", "model calls 1/1")])
    batch = _said([_batch("awaiting_approval"), _batch("awaiting_budget", "model calls 1/1")])
    assert job[0] == [
        "Waiting for approval. In another terminal run:\n"
        "  durable-research approve job-1   (or reject job-1, or revise job-1 --notes ...)"
    ]
    # `approve`, `reject`, `revise` and `budget` take a batch id as they take a job id.
    assert batch[0] == [job[0][0].replace("job-1", "batch-1")]
    assert job[1] == [
        "Budget reached (model calls 1/1). In another terminal, raise it with "
        "`durable-research budget job-1 --max-tokens N` (or --max-cost, --max-model-calls)"
    ]
    assert batch[1] == [job[1][0].replace("job-1", "batch-1")]


def test_a_failed_reduce_is_said_once_beside_the_other_waits() -> None:
    said = _said([
        _batch("analysing"), _batch("analysing", reduce_error="boom"), _batch("analysing", reduce_error="boom"),
        _batch("awaiting_budget", "tokens 5/5", reduce_error="boom"),
    ])  # fmt: skip
    assert [len(s) for s in said] == [0, 1, 0, 1]
    told = said[1][0]
    assert told.startswith("reduce failed: boom.")
    assert "`durable-research cancel batch-1`" in told and "--reuse batch-1" in told
    assert said[3][0].startswith("Budget reached (tokens 5/5)")
