"""A spent budget stops new subtasks, lets running ones finish, waits for raise_budget, and resumes on it;
without a raise the job ends budget_exceeded with what was done."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from orchestration.shared import BudgetChange, JobProgress
from tests.support.jobs import running_jobs, spec


async def _until(handle: Any, check: Any, timeout_s: float = 60) -> JobProgress:
    async def poll() -> JobProgress:
        while True:
            progress: JobProgress = await handle.progress()
            if check(progress):
                return progress
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(poll(), timeout_s)


async def test_raise_budget_resumes_a_stopped_job(temporal_client: Client, tmp_path: Path) -> None:
    budget = {"max_model_calls": 1, "wait_for_raise": 60}
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(parallelism=1, budget=budget))
        stopped = await _until(handle, lambda p: p.phase == "awaiting_budget")
        # The planner's calls reached the limit: no subtask started.
        assert (stopped.done, stopped.running, stopped.pending) == (0, 0, 2)
        assert stopped.budget_note and stopped.budget_note.startswith("model calls")
        spent = stopped.usage.model_calls

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.raise_budget(BudgetChange(max_model_calls=spent))
        assert "not above what the job has spent" in str(refused.value.cause)

        # Room for one more call: one subtask starts, finishes (over the limit), and the next waits.
        await handle.raise_budget(BudgetChange(max_model_calls=spent + 1))
        again = await _until(handle, lambda p: p.phase == "awaiting_budget" and p.done == 1)
        assert (again.running, again.pending) == (0, 1)
        assert again.usage.model_calls > spent + 1

        await handle.raise_budget(BudgetChange(max_model_calls=100_000))
        result = await handle.result()

    assert result.status == "completed"
    assert [t.status for t in result.subtasks] == ["done", "done"]
    assert result.report is not None


async def test_unraised_budget_ends_the_job_with_what_was_done(temporal_client: Client, tmp_path: Path) -> None:
    budget = {"max_tokens": 1, "wait_for_raise": 0}
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(budget=budget))
        result = await handle.result()

        with pytest.raises(Exception, match=r"ended|budget_exceeded"):
            await handle.raise_budget(BudgetChange(max_tokens=10**9))

    assert result.status == "budget_exceeded"
    assert result.error and "tokens" in result.error
    assert [t.status for t in result.subtasks] == ["pending", "pending"]  # planned, never started
    assert result.report is None and result.published == []
    assert result.usage.tokens > 1 and set(result.usage_by_phase) == {"planning"}
