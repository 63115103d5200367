"""Stable workflow, activity, update, query and signal names. Renaming one while runs are in flight needs versioning."""

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

# Update, query and signal names: what clients send and histories record, declared by the
# workflows and used by their callers (orchestration/client.py, batch_client.py, the batch
# parent). A research job and a batch share a name where they share the action, so one
# caller serves both (the CLI's approve takes either).
APPROVE_UPDATE = "approve"
REJECT_UPDATE = "reject"
REVISE_UPDATE = "revise"
SWAP_GRAPH_UPDATE = "swap_graph"
RAISE_BUDGET_UPDATE = "raise_budget"
ADD_SUBTASK_UPDATE = "add_subtask"
ANSWER_UPDATE = "answer"
PAUSE_UPDATE = "pause"
RESUME_UPDATE = "resume"
RETRY_FAILED_UPDATE = "retry_failed"
PROGRESS_QUERY = "progress"
STATE_QUERY = "state"
SPEC_QUERY = "spec"
DRAFT_QUERY = "draft"
# The signal twin of the approval updates, for senders that cannot wait for a reply.
APPROVAL_SIGNAL = "approval"
# From a batch parent to its shards and its reduce child: pause, resume, a swapped graph.
CONTROL_SIGNAL = "control"
# From a batch parent to a reduce child started with the analysis: a shard's range is
# analysed; then the analysis is done (with its totals).
ANALYSED_SIGNAL = "analysed"
ANALYSIS_DONE_SIGNAL = "analysis_done"
