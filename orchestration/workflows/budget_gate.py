"""The budget gate both workflows pass before new model work: wait for a raise, or give up.

Deterministic workflow code only: a condition on the workflow's own state, with a timer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow


class BudgetSpent(Exception):
    """The budget was spent and not raised in time: the job ends as budget_exceeded with what was done."""


async def within_budget(
    spent: Callable[[], str | None],
    wait: Callable[[], timedelta],
    waiting: Callable[[str | None], None],
) -> None:
    """Return once nothing is spent; while something is, wait up to `wait()` for a raise.

    Args:
        spent: which limit the usage has reached (e.g. "tokens 1,204 of 1,000"), or None.
        wait: how long to wait for `raise_budget` (zero: do not wait).
        waiting: told the limit when the wait starts and None when a raise ends it (the
            workflow sets its phase to awaiting_budget and back).

    Raises:
        BudgetSpent: no raise came within the wait.
    """
    while (note := spent()) is not None:
        limit = wait()
        if limit <= timedelta(0):
            raise BudgetSpent(note)
        waiting(note)
        try:
            await workflow.wait_condition(lambda: spent() is None, timeout=limit, timeout_summary="budget raise")
        except TimeoutError:
            raise BudgetSpent(note) from None
        waiting(None)
