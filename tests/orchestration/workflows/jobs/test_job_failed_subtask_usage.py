"""A subtask whose every attempt asks the model and then fails: the call is paid once (later attempts
get it back from the call log), and it is in the job's usage, from the failed subtask's error."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from orchestration.shared import Tuning
from reasoning.models import read_call_log
from tests.support.jobs import running_jobs, spec
from tests.support.spending_graphs import SPEND_NODE

ATTEMPTS = 3


async def test_a_failed_subtasks_attempts_are_counted(temporal_client: Client, tmp_path: Path) -> None:
    tuning = Tuning(retry_initial_s=0.1, reasoning_attempts=ATTEMPTS)
    graphs = {"research": "researcher-lite@1", "doomed": "spendthrift@1"}
    async with running_jobs(temporal_client, tmp_path, tuning=tuning) as jobs:
        handle = await jobs.start(spec(graphs=graphs, max_subtasks=2, validation_rounds=0))
        result = await handle.result()

    assert result.status == "completed"
    failed = [t for t in result.subtasks if t.status == "failed"]
    assert [t.ref.kind for t in failed] == ["doomed"], [(t.ref.kind, t.status) for t in result.subtasks]
    calls = read_call_log(tmp_path / "calls.jsonl")
    spent = [c for c in calls if c["node"] == SPEND_NODE]
    assert len(spent) == 1  # paid by the first attempt; the retries replayed it, then failed the same way
    usage = failed[0].usage
    assert (usage.model_calls, usage.tokens) == (1, spent[0]["tokens"])
    assert (usage.lost_attempts, usage.lost_model_calls, usage.lost_tokens) == (1, 1, usage.tokens)
    # Every call the model answered is in the job's usage exactly once.
    assert (result.usage.model_calls, result.usage.tokens) == (len(calls), sum(c["tokens"] for c in calls))
    assert result.usage_by_phase["researching"].lost_model_calls == 1
