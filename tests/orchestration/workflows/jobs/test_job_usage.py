"""A job's usage is summed from activity results per subtask, per phase and per job, and matches the model's calls."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from orchestration.activities.reasoning_acts import USAGE_FOOTER
from orchestration.shared import Usage
from reasoning.models import read_call_log
from tests.support.jobs import make_deps, running_jobs, spec


async def test_usage_adds_up_to_the_model_calls(temporal_client: Client, tmp_path: Path) -> None:
    deps = make_deps(tmp_path)
    async with running_jobs(temporal_client, tmp_path, deps=deps) as jobs:
        handle = await jobs.start(spec())
        result = await handle.result()
        progress = await handle.progress()

    calls = read_call_log(tmp_path / "calls.jsonl")
    usage = result.usage
    assert usage.model_calls == len(calls) > 0
    assert usage.tokens == sum(c["tokens"] for c in calls)
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.cost_usd == 0 and usage.unpriced_calls == 0  # the fake is offline: free, and priced as such

    assert set(result.usage_by_phase) == {"planning", "researching", "validating", "writing"}
    assert sum(result.usage_by_phase.values(), Usage()) == usage
    by_subtask = sum((t.usage for t in result.subtasks), Usage())
    assert by_subtask == result.usage_by_phase["researching"]
    assert all(t.usage.model_calls > 0 for t in result.subtasks)
    assert progress.usage == usage  # the progress query shows the same figures

    assert result.report is not None
    footer = handle.report_markdown(result.report.key).rstrip().splitlines()[-1]
    assert footer == f"_{USAGE_FOOTER} {usage.line()}._"  # the writer is the last model step
