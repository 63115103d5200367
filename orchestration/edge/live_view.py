"""What a live view of a job or a batch tells the user once per wait: approve, raise the budget, or a failed reduce.

`run`, its polling fallback, `batch` and the notebook progress bars all feed their
successive progress snapshots to one `WaitPrompts`, so each says the same words, once
when a wait begins, and again only when the job leaves that wait and enters it anew (a
report revised and waiting for approval a second time is a new wait). The commands are
the same for a job and a batch: `approve`, `reject`, `revise`, `budget` and `cancel`
recognise a batch id themselves.
"""

from __future__ import annotations

from orchestration.shared.batch import BatchProgress
from orchestration.shared.messages import JobProgress

RAISE_HINT = "raise it with `durable-research budget {job} --max-tokens N` (or --max-cost, --max-model-calls)"


def approval_prompt(job_id: str) -> str:
    return (
        f"Waiting for approval. In another terminal run:\n  durable-research approve "
        f"{job_id}   (or reject {job_id}, or revise {job_id} --notes ...)"
    )


def budget_prompt(job_id: str, note: str | None) -> str:
    return f"Budget reached ({note}). In another terminal, " + RAISE_HINT.format(job=job_id)


def reduce_failed_prompt(job_id: str, error: str) -> str:
    """A batch's reduce tree failed during the analysis (jobs have no reduce tree)."""
    return (
        f"reduce failed: {error}. The analysis goes on and keeps its results; the batch fails when it "
        f"ends. Stop it now with `durable-research cancel {job_id}`; a new batch with --reuse {job_id} skips "
        "the documents already analysed."
    )


def current_prompts(progress: JobProgress | BatchProgress) -> dict[str, str]:
    """The waits `progress` is in, each with its prompt, keyed by the kind of wait."""
    job = progress.job_id
    waits: dict[str, str] = {}
    if progress.phase == "awaiting_approval":
        waits["approval"] = approval_prompt(job)
    if progress.phase == "awaiting_budget":
        waits["budget"] = budget_prompt(job, progress.budget_note)
    if isinstance(progress, BatchProgress) and progress.reduce is not None and progress.reduce.error is not None:
        waits["reduce_failed"] = reduce_failed_prompt(job, progress.reduce.error)
    return waits


class WaitPrompts:
    """Remembers which waits were already told, across a view's successive snapshots."""

    def __init__(self) -> None:
        self._told: set[str] = set()

    def new(self, progress: JobProgress | BatchProgress) -> list[str]:
        """The prompts to say now: those of waits `progress` entered since the previous snapshot."""
        waits = current_prompts(progress)
        fresh = [text for kind, text in waits.items() if kind not in self._told]
        self._told = set(waits)  # a wait left is forgotten, so entering it again tells again
        return fresh
