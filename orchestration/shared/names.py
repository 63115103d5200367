"""Stable activity and workflow names. Renaming one while runs are in flight needs versioning."""

WORKFLOW = "ResearchJob"

INGEST = "io.ingest_corpus"
PLAN = "reasoning.plan"
RUN_SUBTASK = "reasoning.run_subtask"
VALIDATE = "reasoning.validate"
WRITE = "reasoning.write_report"
RUN_TOOL = "reasoning.run_tool"

PUBLISH_ARTIFACT = "io.publish_artifact"
UNPUBLISH_ARTIFACT = "io.unpublish_artifact"
INDEX_REPORT = "io.index_report"
UNINDEX_REPORT = "io.unindex_report"
NOTIFY = "io.notify"
RETRACT_NOTIFICATION = "io.retract_notification"

# The workflow's own metric (workflow.metric_meter(), replay-safe): jobs entering each phase.
# Here rather than in orchestration.telemetry, which the sandboxed workflow code does not import.
JOB_PHASES_METRIC = "durable_research_job_phases"

# Error types the workflow must not retry: misuse and deterministic input errors.
NON_RETRYABLE = [
    "ConfigError",
    "GraphNotFoundError",
    "GraphLoadError",
    "GraphFactoryError",
    "NonRetryableModelError",
    "BudgetExceededError",
    "InvalidInput",
]

# The batch engine (orchestration/workflows/batch_job.py, batch_shard.py, batch_reduce.py).
BATCH_WORKFLOW = "BatchJob"
SHARD_WORKFLOW = "BatchShard"
REDUCE_WORKFLOW = "BatchReduce"
BATCH_DOCUMENTS = "reasoning.batch_documents"
BATCH_REDUCE = "reasoning.batch_reduce"
BATCH_CHECK_GRAPH = "reasoning.batch_check_graph"
BATCH_MANIFEST = "io.batch_manifest"
