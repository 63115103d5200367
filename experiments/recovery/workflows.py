"""Workflows of the Temporal arms: the product's subtask activity (A2/A3), or the graph in the
workflow (A4).

Sandboxed code only: no graph, model or memory imports at module level; the
LangGraph plugin supplies the A4 graph by name at run time.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from experiments.recovery.models import SubtaskRun, TemporalRunRequest, TemporalRunResult
    from orchestration.shared import names
    from orchestration.shared.messages import SubtaskResult
    from orchestration.shared.spec import subtask_activity_id

PLUGIN_GRAPH_NAME = "recovery"


@workflow.defn(name="recovery.GraphInActivity")
class GraphInActivityWorkflow:
    """A2/A3: the whole graph is one ``reasoning.run_subtask`` activity, retried as a unit.

    The product's ResearchJob would ingest, plan and validate around it; the experiment
    measures only the subtask, so this workflow makes the one call, with the activity id
    the product gives a subtask (the resume mode's thread is keyed by it).
    """

    @workflow.run
    async def run(self, run: SubtaskRun) -> SubtaskResult:
        return await workflow.execute_activity(
            names.RUN_SUBTASK,
            run.request,
            result_type=SubtaskResult,
            activity_id=subtask_activity_id(run.request.subtask.id, run.request.round),
            heartbeat_timeout=timedelta(seconds=run.heartbeat_s),
            start_to_close_timeout=timedelta(seconds=run.start_to_close_s),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=run.retry_initial_s),
                backoff_coefficient=1.0,
                maximum_attempts=run.max_attempts,
                non_retryable_error_types=names.NON_RETRYABLE,
            ),
        )


@workflow.defn(name="recovery.PluginGraph")
class PluginGraphWorkflow:
    """A4: Temporal's LangGraph plugin runs the graph loop here, each node as an activity."""

    @workflow.run
    async def run(self, request: TemporalRunRequest) -> TemporalRunResult:
        from temporalio.langgraph import graph

        app = graph(PLUGIN_GRAPH_NAME).compile()
        out = await app.ainvoke({"question": request.question}, context=request.context)
        return TemporalRunResult(
            answer_hash=hashlib.sha256(str(out["answer"]).encode()).hexdigest(),
            loops=int(out.get("loops", 0)),
            memory_notes=int(out.get("memory_notes", 0)),
        )
