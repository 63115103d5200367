"""Sandboxed workflow code only: no I/O, clocks, randomness or model calls here."""

from orchestration.workflows.batch_job import BatchJobWorkflow
from orchestration.workflows.batch_reduce import BatchReduceWorkflow
from orchestration.workflows.batch_shard import BatchShardWorkflow
from orchestration.workflows.research_job import ResearchJobWorkflow

WORKFLOWS = [ResearchJobWorkflow, BatchJobWorkflow, BatchShardWorkflow, BatchReduceWorkflow]

__all__ = ["WORKFLOWS", "BatchJobWorkflow", "BatchReduceWorkflow", "BatchShardWorkflow", "ResearchJobWorkflow"]
