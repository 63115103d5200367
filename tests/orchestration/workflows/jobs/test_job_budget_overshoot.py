"""Reaching a budget stops new work, not running work: the job says how far past it the running subtasks went."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from temporalio.client import Client

from orchestration.edge.cli.job_support import closed_summary, progress_view
from tests.support.jobs import running_jobs, spec

LIMIT = 2


async def test_the_overshoot_of_running_subtasks_is_shown(temporal_client: Client, tmp_path: Path) -> None:
    budget = {"max_model_calls": LIMIT, "wait_for_raise": 0}
    async with running_jobs(temporal_client, tmp_path) as jobs:
        handle = await jobs.start(spec(parallelism=2, validation_rounds=0, budget=budget))
        result = await handle.result()
        progress = await handle.progress()
        summary = await closed_summary(handle)

    assert result.status == "budget_exceeded"
    planning, researching = result.usage_by_phase["planning"], result.usage_by_phase["researching"]
    assert planning.model_calls < LIMIT, "the plan must leave room for the subtasks to start"
    # Both subtasks started under the limit and ran to their end past it.
    assert [t.status for t in result.subtasks] == ["done", "done"]
    calls = planning.model_calls + researching.model_calls
    assert result.usage.model_calls == calls > LIMIT
    assert result.budget is not None and result.budget.over(result.usage) == {"model_calls": calls - LIMIT}
    line = f"over budget by {calls - LIMIT} model calls (+{(calls - LIMIT) / LIMIT:.0%})"
    assert result.budget.over_line(result.usage) == line

    assert summary["over_budget"] == {"model_calls": calls - LIMIT} and summary["over_budget_line"] == line
    console = Console(record=True, width=200)
    console.print(progress_view(progress, None))
    assert line in console.export_text()
