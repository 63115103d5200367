"""Every `workflow.patched()` id of the workflows, named in this one place.

Histories record an id in a marker the first time its `patched()` call runs, and replay
compares the strings: an id's value never changes once released (the committed histories
under tests/histories record them; tests/orchestration/workflows/replay/test_patch_ids.py checks that every
call site uses a constant from here). A constant's name is its id, upper-cased.

Each entry says what the patch guards, the commit that introduced it, and when it may be
retired. Retiring takes two steps, as Temporal versioning does: once no workflow run whose
history lacks the marker can still be replayed, `patched(X)` becomes `deprecate_patch(X)` and
the old branch goes; once no run from before that deploy can be replayed, the call goes too.
"Can be replayed" covers open runs, and closed ones still inside the namespace's retention,
because a query on a closed workflow (`status`, `result` reading the state) replays its
history. A continue-as-new starts a new run, which records the marker afresh. Committed
histories recorded without the marker take the old branch where they reach it: they retire with it.
"""

# --- ResearchJob -------------------------------------------------------------------

VALIDATION_SEND_BACK = "validation-send-back"
"""Findings the validator calls unsupported go back to their subtasks for another round.

Since 73f56d8 (2026-11-22, the first research job workflow): no code in this repository ever
ran without it, so it may be deprecated whenever the releases before that commit (if any ran
anywhere) have no replayable runs left. validation_send_back.json records it.
"""

USAGE_ACCOUNTING_AND_BUDGETS = "usage-accounting-and-budgets"
"""Tokens and cost summed per subtask, phase and job; a spent budget stops new work.

Since c366551 (2026-11-30, token and cost accounting). Retire once no research job run
started before c366551 can be replayed; auto_approve.json, rejected.json and
revise_then_approve.json were recorded before it.
"""

ACTIVITY_SUMMARIES = "activity-summaries"
"""Activities scheduled through `CallOptions.kwargs(summary=...)` carry a summary for the UI.

Since bdecf40 (2026-11-30, the job event stream). Asked by every workflow that schedules with
a summary (research jobs, their subtasks and lifted tool steps). Retire once no research job
run started before bdecf40 can be replayed; auto_approve.json, rejected.json,
revise_then_approve.json and budget_raised.json were recorded before it.
"""

INGEST_THROUGH_BATCH_ENGINE = "ingest-through-batch-engine"
"""A corpus at or above the spec's `ingest_engine_min_documents` is ingested by a BatchJob child.

Since 08ec1bb (2026-11-30, ingest through the batch engine). Only specs that set the threshold
ask it, so it may be retired once no research job run started before 08ec1bb with that
setting can be replayed. ingest_through_batch_engine.json records it.
"""

USAGE_OF_FAILED_SUBTASKS = "usage-of-failed-subtasks"
"""A subtask that fails after its retries counts what its attempts spent (from its error).

Since 84e95dc (2026-11-30, the usage ledger). Retire once no research job run started before
84e95dc can be replayed (only a run in which a subtask failed asks it).
"""

LIFTED_STEPS = "lifted-steps"
"""A graph activity may hand over a pending step (a tool run as an activity, a question).

Since c275f07 (2026-12-07, deep-researcher and lifted tool steps). Asked only when a graph
activity returns a pending step, so it may be retired once no research job run started
before c275f07 can be replayed.
"""

# --- BatchJob ----------------------------------------------------------------------

BATCH_REDUCE_CHILD = "batch-reduce-child"
"""The reduce tree runs in a BatchReduce child, and the parent continues as new between rounds.

Since 0355fab (2026-11-30, bounded batch parent history). Retire once no batch run started
before 0355fab can be replayed; batch_parent.json was recorded before it.
"""

BATCH_SWAP_CHECK = "batch-swap-check"
"""`swap_graph` checks the graph with an activity before it applies.

Since b3992bb (2026-11-30, the swap check). Asked only while a swap is handled, so retire once
no batch run that took a swap before b3992bb can be replayed.
"""

BATCH_USAGE_FOOTER = "batch-usage-footer"
"""The final reduce step of a parent-run tree gets the batch's spending for the report footer.

Since a5e5746 (2026-11-30, batch usage accounting). Asked only by the tree the parent runs
itself (before BATCH_REDUCE_CHILD), so it retires with that branch at the latest.
batch/batch_parent_usage_footer.json records it (recorded by the code of 3807a18, the last before
BATCH_REDUCE_CHILD); batch_parent.json was recorded before it.
"""

BATCH_BUDGET = "batch-budget"
"""A batch with budget limits gives each shard run a share and waits in awaiting_budget.

Since e3a1dd4 (2026-11-30, batch budgets). Only batches with limits ask it, so it may be
retired once no batch run with limits started before e3a1dd4 can be replayed.
batch/batch_parent_budget.json records it.
"""

BATCH_REDUCE_OVERLAP = "batch-reduce-overlap"
"""A first round without a budget starts the reduce child with the analysis.

Since e41c3fa (2026-11-30, overlapped reduce). Retire once no batch run started before e41c3fa
can be replayed; batch_parent_bounded.json was recorded before it.
"""

# --- BatchReduce and BatchShard ----------------------------------------------------

REDUCE_WINDOW = "reduce-window"
"""Reduce steps run in a sliding window of `parallelism` instead of waves.

Since ceb1bb1 (2026-11-30, documents and reduce steps in a process pool). Retire once no
BatchReduce run started before ceb1bb1 can be replayed; batch_reduce_first_run.json and
batch_reduce_last_run.json were recorded before it.
"""

SHARD_WINDOW = "shard-window"
"""A shard without a budget keeps up to `window` micro-batches in flight (one before it).

Since 392ea34 (2026-12-01, shard windows). Retire once no BatchShard run started before
392ea34 can be replayed; batch_shard_first_run.json and batch_shard_last_run.json were
recorded before it.
"""
