"""Sandboxed workflow code only: no I/O, clocks, randomness or model calls here."""

from orchestration.workflows.research_job import ResearchJobWorkflow

WORKFLOWS = [ResearchJobWorkflow]

__all__ = ["WORKFLOWS", "ResearchJobWorkflow"]
