"""Record the committed workflow histories that the replay tests guard.

Run `.venv/bin/python -m tests.histories.record NAME...` after an intended workflow change
that is versioned with `workflow.patched()`, naming only the new scenarios (recording an
existing history again hides exactly what the replay tests guard); never to paper over a
non-determinism failure. Without names every scenario is recorded.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from orchestration.client import JobHandle, ResearchClient
from orchestration.payloads.converter import data_converter
from orchestration.server import EmbeddedServer
from orchestration.shared import BudgetChange, JobProgress
from tests.conftest import make_settings
from tests.support.jobs import running_jobs, spec, wait_for_phase

HERE = Path(__file__).parent
WAIT = {"required": True, "deadline": "P3D"}


async def _approve_after_revise(jobs: ResearchClient) -> JobHandle:
    handle = await jobs.start(spec(approval=WAIT), job_id="history-revise-approve")
    await wait_for_phase(handle, "awaiting_approval")
    await handle.revise(notes="Add a section on retries.")
    await wait_for_phase(handle, "awaiting_approval")
    await handle.approve(by="recorder")
    return handle


async def _plain(jobs: ResearchClient) -> JobHandle:
    return await jobs.start(spec(), job_id="history-auto-approve")


async def _rejected(jobs: ResearchClient) -> JobHandle:
    handle = await jobs.start(spec(approval=WAIT), job_id="history-rejected")
    await wait_for_phase(handle, "awaiting_approval")
    await handle.reject(by="recorder")
    return handle


async def _budget_raised(jobs: ResearchClient) -> JobHandle:
    """Usage accounting and budgets (patch usage-accounting-and-budgets): stop, raise, stop again, raise."""
    budget = {"max_model_calls": 1, "wait_for_raise": "PT1H"}
    handle = await jobs.start(spec(parallelism=1, budget=budget), job_id="history-budget-raised")
    stopped: JobProgress = await wait_for_phase(handle, "awaiting_budget")
    await handle.raise_budget(BudgetChange(max_model_calls=stopped.usage.model_calls + 1))
    while (await handle.progress()).done < 1 or (await handle.progress()).phase != "awaiting_budget":
        await asyncio.sleep(0.1)
    await handle.raise_budget(BudgetChange(max_model_calls=100_000))
    return handle


async def _watched_events(jobs: ResearchClient) -> JobHandle:
    """The event stream and UI summaries (patch activity-summaries): activities publish batches
    by signal, a watcher long-polls by update the whole time, then the report is approved."""
    handle = await jobs.start(spec(approval=WAIT), job_id="history-watched-events")

    async def watch() -> int:  # the library's long-poll by update (JobStream reads by query: no history)
        return len([e async for e in WorkflowStreamClient.create(jobs.client, handle.job_id).subscribe()])

    watcher = asyncio.create_task(watch())
    await wait_for_phase(handle, "awaiting_approval")
    await handle.approve(by="recorder")
    await watcher  # ends once the job completes and its last events are read
    return handle


async def _failed_subtask_usage(jobs: ResearchClient) -> JobHandle:
    """A failed subtask's usage counts (patch usage-of-failed-subtasks): its three paid, failed attempts
    spend the budget, so the job waits for a raise before validating; without them it would not."""
    import tests.support.spending_graphs  # noqa: F401  (registers spendthrift@1)

    graphs = {"research": "researcher-lite@1", "doomed": "spendthrift@1"}
    budget = {"max_model_calls": 4, "wait_for_raise": "PT1H"}
    handle = await jobs.start(
        spec(graphs=graphs, max_subtasks=2, parallelism=1, validation_rounds=0, budget=budget),
        job_id="history-failed-subtask-usage",
    )
    stopped: JobProgress = await wait_for_phase(handle, "awaiting_budget")
    assert stopped.failed == 1 and stopped.usage.lost_model_calls == 3, stopped
    await handle.raise_budget(BudgetChange(max_model_calls=100_000))
    return handle


async def _lifted_steps(jobs: ResearchClient) -> JobHandle:
    """Tool steps lifted to the workflow (patch lifted-steps): deep-researcher@1 calls a tool the
    workflow runs as its own activity and asks a person, answered by the `answer` update."""
    import tests.support.tool_fixtures  # noqa: F401  (registers lookup_ticket and ask_person)

    tools = {"research": ["search_memory", "lookup_ticket", "ask_person"]}
    handle = await jobs.start(
        spec(graphs={"research": "deep-researcher@1"}, max_subtasks=1, validation_rounds=0, tools=tools),
        job_id="history-lifted-steps",
    )
    while not any(t.question for t in (await handle.progress()).subtasks):
        await asyncio.sleep(0.1)
    await handle.answer("The 1.2 release.", by="recorder")
    return handle


async def _validation_send_back(jobs: ResearchClient) -> JobHandle:
    """A finding the validator calls unsupported goes back to its subtask for a second round
    (patch validation-send-back): claimless@1 answers without a cited claim, every round."""
    import tests.support.spending_graphs  # noqa: F401  (registers claimless@1)

    return await jobs.start(
        spec(graphs={"research": "claimless@1"}, max_subtasks=1, validation_rounds=1),
        job_id="history-validation-send-back",
    )


async def _ingest_through_batch_engine(jobs: ResearchClient) -> JobHandle:
    """A corpus at the spec's threshold is ingested by a BatchJob child (patch
    ingest-through-batch-engine), then researched as any other."""
    return await jobs.start(
        spec(max_subtasks=1, validation_rounds=0, ingest_engine_min_documents=1),
        job_id="ingest_through_batch_engine",  # the file's name: the child's id derives from it on replay
    )


SCENARIOS: dict[str, Callable[[ResearchClient], Awaitable[JobHandle]]] = {
    "auto_approve": _plain,
    "revise_then_approve": _approve_after_revise,
    "rejected": _rejected,
    "budget_raised": _budget_raised,
    "watched_events": _watched_events,
    "failed_subtask_usage": _failed_subtask_usage,
    "lifted_steps": _lifted_steps,
    "validation_send_back": _validation_send_back,
    "ingest_through_batch_engine": _ingest_through_batch_engine,
}


async def record(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server_settings = make_settings(Path(tmp) / "server")
        server = EmbeddedServer(server_settings)
        address = server.ensure_started().address
        try:
            client = await Client.connect(address, data_converter=data_converter(server_settings))
            for name, scenario in SCENARIOS.items():
                if names and name not in names:
                    continue
                async with running_jobs(client, Path(tmp) / name) as jobs:
                    handle = await scenario(jobs)
                    await handle.handle.result()
                    history = await handle.handle.fetch_history()
                (HERE / f"{name}.json").write_text(_without_stack_traces(history.to_json()))
                print(f"recorded {name}: {len(history.events)} events")
        finally:
            server.stop()


def _without_stack_traces(text: str) -> str:
    """Failures carry the recording machine's paths in their stack traces; replay never reads them."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "stackTrace"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return json.dumps(strip(json.loads(text)), indent=2)


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))
