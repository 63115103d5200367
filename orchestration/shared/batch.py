"""Payloads of the batch engine: the batch spec, shard and micro-batch requests, progress.

History holds references only: the manifest's key (never thousands of paths), index
ranges of it, counters and artifact keys. Every field has a default where a running
workflow might meet a payload written before the field existed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from orchestration.shared.messages import FINAL_PHASES, FinalPhase, ReportRef, TaskQueues, Tuning
from orchestration.shared.spec import QUESTION_MAX_CHARS, ApprovalPolicy, ModelChoice, PublishTargets, check_graph_key
from orchestration.shared.usage import Budget, Usage

RESULTS_SUFFIX = "-results"


def results_collection(job_id: str) -> str:
    """Where a batch indexes its results; a research job takes it as its corpus (chaining)."""
    return f"{job_id}{RESULTS_SUFFIX}"


class BatchSpec(BaseModel):
    """What a user asks of a batch. Sizes bound history and payloads whatever the corpus size.

    Attributes:
        graph: the per-document graph (input DocumentInput, output DocumentAnalysis).
        reduce_graph: the reduce graph (input SynthesisInput, output DocumentAnalysis).
        question: asked of every document and of the reduction ("" : a general summary).
        parallelism: shard children running at once.
        micro_batch: documents per activity (M).
        window: micro-batches a shard runs at once (W; 1 while a budget is set): the documents
            in flight are parallelism x window x micro_batch.
        shard_size: documents per shard child, at least (the engine keeps at most
            MAX_SHARDS shards by growing it).
        continue_every: activities a shard runs before it continues as new (K).
        reduce_fanin: the most results one reduce activity receives (R).
        doc_attempts: tries per document inside its activity before it is recorded as failed.
        reuse_job: an earlier batch whose results are reused for documents of equal content.
        budget: spending limits: when reached no new micro-batch or reduce step starts, running
            ones finish, and the batch waits in `awaiting_budget` for `raise_budget`, then ends
            as `budget_exceeded` with its results so far.
    """

    graph: str = "summarize@1"
    reduce_graph: str = "synthesize@1"
    task: Literal["analyse", "ingest"] = Field(
        default="analyse",
        description="analyse: run `graph` per document, reduce, approve, publish. ingest: chunk and index "
        "every document into `collection` (a research job's large corpus); no graph, no reduce.",
    )
    collection: str | None = Field(default=None, description="Where `ingest` indexes the documents.")
    question: str = Field(default="", max_length=QUESTION_MAX_CHARS)
    model: ModelChoice = Field(default_factory=ModelChoice)
    parallelism: int = Field(default=4, ge=1, le=64)
    micro_batch: int = Field(default=25, ge=1, le=1000)
    window: int = Field(default=2, ge=1, le=16)
    shard_size: int = Field(default=500, ge=1)
    continue_every: int = Field(default=100, ge=1)
    reduce_fanin: int = Field(default=50, ge=2, le=1000)
    doc_attempts: int = Field(default=2, ge=1, le=10)
    reuse_job: str | None = None
    approval: ApprovalPolicy = Field(default_factory=lambda: ApprovalPolicy(required=False))
    publish: PublishTargets = Field(default_factory=PublishTargets)
    budget: Budget = Field(default_factory=Budget)

    @field_validator("graph", "reduce_graph")
    @classmethod
    def _pinned(cls, key: str) -> str:
        return check_graph_key(key)


# At most this many shard children per batch: the parent's history grows per child.
MAX_SHARDS = 200

BatchPhase = Literal["analysing", "reducing", "awaiting_budget", "awaiting_approval", "publishing", FinalPhase]
BATCH_FINAL: tuple[str, ...] = FINAL_PHASES


class ShardCounters(BaseModel):
    """What a shard has done so far; carried across continue-as-new with the cursor, nothing else."""

    done: int = 0
    failed: int = 0
    reused: int = 0
    chunks: int = 0
    activities: int = 0
    continued: int = 0
    usage: Usage = Field(default_factory=Usage)

    def add(self, other: DocBatchResult) -> None:
        self.done += other.done
        self.failed += other.failed
        self.reused += other.reused
        self.chunks += other.chunks
        self.usage += other.usage
        self.activities += 1


class ShardState(BaseModel):
    index: int
    start: int
    end: int
    status: Literal["pending", "running", "done"] = "pending"
    done: int = 0
    failed: int = 0
    reused: int = 0
    chunks: int = 0
    runs: int = 0
    usage: Usage = Field(default_factory=Usage)
    cursor: int | None = Field(default=None, description="Where a run stopped by the budget left off.")
    parts: int = Field(default=0, description="Runs the budget stopped before the slice's end.")

    def count(self, run: ShardCounters, *, retry: bool, finished: bool) -> None:
        """Add a shard run's counters to the slice's: the one rule the batch workflow (a run that
        ended) and the client (a run still going, from its query) both follow.

        Counts add up: from zero on a first run, past the cursor after a budget stop. A retry
        pass runs the slice's failed documents again: once it ends its failures replace the
        slice's; while it runs the slice's failures still stand, so it adds none.
        """
        self.done, self.reused, self.chunks = self.done + run.done, self.reused + run.reused, self.chunks + run.chunks
        self.usage += run.usage
        if not retry:
            self.failed += run.failed
        elif finished:
            self.failed = run.failed


class ShardInput(BaseModel):
    job_id: str
    index: int
    manifest_key: str
    start: int
    end: int
    cursor: int
    graph: str
    model: ModelChoice
    question: str = ""
    micro_batch: int = 25
    window: int = Field(default=1, description="Micro-batches at once (shards started before windows: 1).")
    continue_every: int = 100
    doc_attempts: int = 2
    reuse_job: str | None = None
    retry: bool = Field(default=False, description="Re-run only the slice's failed documents.")
    task: Literal["analyse", "ingest"] = "analyse"
    collection: str | None = None
    paused: bool = False
    allowance: Budget | None = Field(
        default=None, description="This run's share of the batch budget: no micro-batch starts once spent."
    )
    counters: ShardCounters = Field(default_factory=ShardCounters)
    queues: TaskQueues = Field(default_factory=TaskQueues)
    tuning: Tuning = Field(default_factory=Tuning)


class ShardControl(BaseModel):
    """Parent -> running shard: pause, resume, or swap the graph for micro-batches not yet started."""

    paused: bool | None = None
    graph: str | None = None


class ShardProgress(BaseModel):
    index: int
    start: int
    end: int
    cursor: int
    paused: bool
    graph: str
    counters: ShardCounters
    micro_batch: int = 1
    running: int | None = Field(default=None, description="Documents in flight (None: a shard from before windows).")
    retry: bool = Field(default=False, description="A retry pass over the slice's failed documents.")


class DocBatchRequest(BaseModel):
    """One micro-batch: manifest entries [start, end), at most `micro_batch` of them."""

    job_id: str
    manifest_key: str
    start: int
    end: int
    graph: str
    model: ModelChoice
    question: str = ""
    doc_attempts: int = 2
    reuse_job: str | None = None
    retry: bool = False
    task: Literal["analyse", "ingest"] = "analyse"
    collection: str | None = None


class DocBatchResult(BaseModel):
    done: int = 0
    failed: int = 0
    reused: int = 0
    chunks: int = 0
    skipped: int = Field(default=0, description="Already recorded by an earlier attempt: not run again.")
    analysed: int = Field(default=0, description="Graph runs this attempt made.")
    usage: Usage = Field(
        default_factory=Usage,
        description="What the counted documents' graph runs spent, failed tries and killed attempts' "
        "recorded documents included (each document's record carries its own).",
    )


class ReduceRequest(BaseModel):
    """One reduce step: a manifest range (level 0) or earlier reductions' keys, at most R inputs."""

    job_id: str
    graph: str
    model: ModelChoice
    question: str = ""
    round: int = 0
    level: int = 0
    group: int = 0
    start: int = 0
    end: int = 0
    keys: list[str] = Field(default_factory=list)
    below: list[int] = Field(
        default_factory=list,
        description="Groups of level - 1 whose reductions are the inputs (their keys follow from the group): "
        "the reduce child sends these instead of keys.",
    )
    final: bool = False
    totals: dict[str, int] = Field(default_factory=dict, description="For the final report's footer.")
    source_graph: str = ""
    usage_so_far: Usage | None = Field(default=None, description="The batch's spending before the final step.")
    notes: str = Field(default="", description="A reviewer's notes: the final step re-run by `revise`.")
    revision: int = Field(default=0, description="How many times the report was revised (names the report).")


class ReduceResult(BaseModel):
    key: str | None = None
    documents: int = 0
    claims: int = 0
    report: ReportRef | None = None
    usage: Usage = Field(default_factory=Usage)


class ReduceInput(BaseModel):
    """The reduce tree as a child workflow: what every step needs, and the cursor it continues as new with.

    The cursor is the level, the next group of it and which groups of the level below (and of
    this one so far) produced nothing; reductions are artifacts whose keys follow from (job,
    round, level, group), so nothing here grows with the corpus except `empty_*`, which holds
    only groups whose every document failed.
    """

    job_id: str
    graph: str
    model: ModelChoice
    question: str = ""
    round: int = 0
    total: int = Field(ge=1, description="Manifest length: level 0 reduces ranges of it.")
    fanin: int = Field(ge=2)
    parallelism: int = Field(default=4, ge=1)
    continue_every: int = Field(default=100, ge=1, description="Reduce steps a run launches before it continues.")
    totals: dict[str, int] = Field(default_factory=dict)
    source_graph: str = ""
    usage_so_far: Usage | None = Field(
        default=None, description="The batch's spending before the tree; the final step's footer adds the tree's."
    )
    usage: Usage = Field(default_factory=Usage, description="What this tree's finished steps spent.")
    queues: TaskQueues = Field(default_factory=TaskQueues)
    tuning: Tuning = Field(default_factory=Tuning)
    level: int = 0
    next_group: int = 0
    below_width: int = Field(default=0, description="Groups the level below had (0 at level 0).")
    empty_below: list[int] = Field(default_factory=list)
    empty_here: list[int] = Field(default_factory=list)
    steps: int = 0
    continued: int = 0
    overlapped: bool = Field(
        default=False,
        description="Started with the analysis: a level-0 step waits until its documents are analysed "
        "(`analysed`), the final step until the analysis ended (`analysis_done`, for the footer).",
    )
    analysed: list[tuple[int, int]] = Field(
        default_factory=list, description="Analysed manifest ranges, merged: at most one per shard."
    )
    analysis_done: bool = False
    paused: bool = False


class AnalysedRange(BaseModel):
    """Parent -> overlapped reduce child: manifest entries [start, end) are analysed (a shard finished)."""

    start: int
    end: int


class AnalysisDone(BaseModel):
    """Parent -> overlapped reduce child: the analysis ended; what the final step's footer needs."""

    totals: dict[str, int]
    source_graph: str
    usage_so_far: Usage | None = None


class ReduceOutcome(BaseModel):
    """What the reduce child returns: the report, how much it did, and its final step (a revise re-runs it)."""

    report: ReportRef | None = None
    reductions: int = 0
    levels: int = 0
    continued: int = 0
    usage: Usage = Field(default_factory=Usage)
    final: ReduceRequest | None = None


class ReduceProgress(BaseModel):
    """The reduce child's live view (its `progress` query); `status` shows it beside the shards."""

    workflow_id: str = ""
    level: int = Field(default=0, description="The tree's level being reduced (0: ranges of documents).")
    groups: int = Field(default=0, description="Steps this level has.")
    steps: int = Field(default=0, description="Steps finished, every level and run.")
    running: int = 0
    waiting: int = Field(default=0, description="Steps of this level waiting for their documents (overlapped).")
    overlapped: bool = False
    analysis_done: bool = False
    paused: bool = False
    error: str | None = Field(default=None, description="Why the child failed (filled by the client).")


class BatchSwap(BaseModel):
    graph: str

    @field_validator("graph")
    @classmethod
    def _pinned(cls, key: str) -> str:
        return check_graph_key(key)


class GraphCheck(BaseModel):
    """Does `graph`, as the workers register it, fit a batch's per-document or reduce step?"""

    graph: str
    step: Literal["document", "reduce"] = "document"


class BatchState(BaseModel):
    phase: BatchPhase = "analysing"
    paused: bool = False
    graph: str = "summarize@1"
    shards: list[ShardState] = Field(default_factory=list)
    started_at: datetime | None = None
    analysed_at: datetime | None = None
    retry_round: int = 0
    retry_requested: bool = False
    swaps: list[str] = Field(default_factory=list)
    reductions: int = 0
    reduce_usage: Usage = Field(default_factory=Usage)
    budget_note: str | None = None
    revisions: list[str] = Field(default_factory=list, description="Reviewers' notes, one per revise.")
    final_reduce: ReduceRequest | None = Field(default=None, description="The last reduction's final step.")
    report: ReportRef | None = None
    approval: str = "pending"
    approval_deadline: datetime | None = Field(default=None, description="When the current approval wait ends.")
    decided_by: str | None = None
    published: list[str] = Field(default_factory=list)
    compensated: list[str] = Field(default_factory=list)
    error: str | None = None


class ManifestRequest(BaseModel):
    """A workflow asks an activity to resolve sources into a manifest (workflows do no I/O)."""

    job_id: str
    sources: list[str]


class ManifestRef(BaseModel):
    key: str
    total: int
    readable: int


class BatchInput(BaseModel):
    spec: BatchSpec
    manifest_key: str
    total: int = Field(ge=1)
    queues: TaskQueues = Field(default_factory=TaskQueues)
    tuning: Tuning = Field(default_factory=Tuning)
    resume: BatchState | None = Field(
        default=None, description="A continued run's state: analysis is over, the retry/reduce/approve loop goes on."
    )


class BatchProgress(BaseModel):
    """The parent's view; the client adds running shards' counters (queried from each shard)."""

    job_id: str
    phase: BatchPhase
    paused: bool
    graph: str
    total: int
    done: int
    failed: int
    reused: int
    running_shards: int
    shards: list[ShardState]
    running_ids: list[str] = Field(default_factory=list, description="Workflow ids of the shards running now.")
    running: int = Field(default=0, description="Documents in micro-batches in flight (filled by the client).")
    docs_per_s: float | None = Field(default=None, description="Filled by the client from done and start time.")
    eta_s: float | None = None
    started_at: datetime | None = None
    analysed_at: datetime | None = None
    report: ReportRef | None = None
    approval: str = "pending"
    retry_round: int = 0
    error: str | None = None
    budget: Budget = Field(default_factory=Budget)
    budget_note: str | None = Field(default=None, description="Which limit was reached, while awaiting_budget.")
    usage: Usage = Field(
        default_factory=Usage, description="Finished shards and reduce steps; the client adds running shards'."
    )
    reducer_id: str | None = Field(default=None, description="The reduce child's workflow id while it runs.")
    reduce: ReduceProgress | None = Field(default=None, description="The reduce child's view (filled by the client).")


class BatchResult(BaseModel):
    job_id: str
    status: str
    total: int
    done: int
    failed: int
    reused: int
    chunks: int = 0
    report: ReportRef | None = None
    published: list[str] = Field(default_factory=list)
    compensated: list[str] = Field(default_factory=list)
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
