"""Workflows of the Temporal arms: the graph in one activity (A2/A3), or in the workflow (A4).

Sandboxed code only: no graph, model or memory imports at module level; the
LangGraph plugin supplies the A4 graph by name at run time.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from experiments.recovery.models import TemporalRunRequest, TemporalRunResult

RUN_GRAPH_ACTIVITY = "recovery.run_graph"
PLUGIN_GRAPH_NAME = "recovery"


@workflow.defn(name="recovery.GraphInActivity")
class GraphInActivityWorkflow:
    """A2/A3: the whole graph is one activity, retried as a unit by Temporal."""

    @workflow.run
    async def run(self, request: TemporalRunRequest) -> TemporalRunResult:
        return await workflow.execute_activity(
            RUN_GRAPH_ACTIVITY,
            request,
            result_type=TemporalRunResult,
            heartbeat_timeout=timedelta(seconds=request.heartbeat_s),
            start_to_close_timeout=timedelta(seconds=request.start_to_close_s),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=request.retry_initial_s),
                backoff_coefficient=1.0,
                maximum_attempts=request.max_attempts,
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
