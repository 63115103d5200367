"""What a job spends (model calls, tokens in and out, cost) and the budget that bounds it.

`Usage` is the one model for spending: activity results carry one per graph run, the
workflow sums them per subtask, per phase and per job (never from heartbeats, which are
lossy), and the CLI, notebook and report footer print `Usage.line()`. A result (or a final
failure's details) also carries the calls of earlier attempts that returned nothing (a killed
worker, a retried error), read from the activity's usage ledger; they are in the totals and,
again, in the `lost_*` fields, so a reader sees what crashes and retries cost. Calls a retry
got back from the call log are not spending: they are counted apart, in `replayed_*`, with
what they would have cost.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class Usage(BaseModel):
    """Spending of one graph run, or a sum of runs.

    Attributes:
        model_calls: chat model calls that returned.
        input_tokens: prompt tokens, from the provider's usage data (the offline and fake
            providers report an estimate: one token per word).
        output_tokens: completion tokens, likewise.
        cost_usd: from the worker's price table; zero for offline providers.
        unpriced_calls: calls to a model the price table does not list (their cost is
            not in `cost_usd`, so a reader knows the figure is a lower bound).
        lost_attempts: attempts that made model calls and returned no result (killed,
            timed out, failed and retried); their calls are in the figures above.
        lost_model_calls: of `model_calls`, those made by such attempts.
        lost_tokens: of the tokens, those of such attempts (in and out).
        lost_cost_usd: of `cost_usd`, that of such attempts.
        replayed_calls: calls answered from the call log (made and paid once, by an earlier
            attempt); not in `model_calls`.
        replayed_tokens: the tokens those calls would have cost again (in and out); not in the
            tokens above.
        replayed_cost_usd: what they would have cost again; not in `cost_usd`.
    """

    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    # Added after the first release: defaults keep recorded results and states decoding.
    lost_attempts: int = 0
    lost_model_calls: int = 0
    lost_tokens: int = 0
    lost_cost_usd: float = 0.0
    replayed_calls: int = 0
    replayed_tokens: int = 0
    replayed_cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            model_calls=self.model_calls + other.model_calls,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 8),
            unpriced_calls=self.unpriced_calls + other.unpriced_calls,
            lost_attempts=self.lost_attempts + other.lost_attempts,
            lost_model_calls=self.lost_model_calls + other.lost_model_calls,
            lost_tokens=self.lost_tokens + other.lost_tokens,
            lost_cost_usd=round(self.lost_cost_usd + other.lost_cost_usd, 8),
            replayed_calls=self.replayed_calls + other.replayed_calls,
            replayed_tokens=self.replayed_tokens + other.replayed_tokens,
            replayed_cost_usd=round(self.replayed_cost_usd + other.replayed_cost_usd, 8),
        )

    def as_lost(self, attempts: int) -> Usage:
        """This spending, marked as made by `attempts` attempts that returned no result."""
        return self.model_copy(
            update={
                "lost_attempts": attempts,
                "lost_model_calls": self.model_calls,
                "lost_tokens": self.tokens,
                "lost_cost_usd": self.cost_usd,
            }
        )

    def as_replayed(self) -> Usage:
        """This spending as calls the call log answered: nothing spent, what it would have cost kept."""
        return Usage(replayed_calls=self.model_calls, replayed_tokens=self.tokens, replayed_cost_usd=self.cost_usd)

    def line(self) -> str:
        """One human line: `12 model calls, 3,456 tokens (3,000 in / 456 out), $0.0123`.

        With lost attempts: `..., $0.0123; of which 2 calls, 300 tokens, $0.0010 by 1 attempt that returned nothing`.
        With replayed calls: `...; 5 calls (700 tokens, $0.0020) replayed from the call log, not paid again`.
        """
        text = (
            f"{self.model_calls:,} model calls, {self.tokens:,} tokens "
            f"({self.input_tokens:,} in / {self.output_tokens:,} out), ${self.cost_usd:.4f}"
        )
        if self.unpriced_calls:
            text += f" (+ {self.unpriced_calls:,} calls of unpriced models)"
        if self.lost_model_calls:
            attempts = f"{self.lost_attempts:,} attempt{'s' if self.lost_attempts != 1 else ''}"
            text += (
                f"; of which {self.lost_model_calls:,} calls, {self.lost_tokens:,} tokens, "
                f"${self.lost_cost_usd:.4f} by {attempts} that returned nothing"
            )
        if self.replayed_calls:
            text += (
                f"; {self.replayed_calls:,} calls ({self.replayed_tokens:,} tokens, ${self.replayed_cost_usd:.4f}) "
                "replayed from the call log, not paid again"
            )
        return text


class CallCounts(BaseModel):
    """Model calls and tokens in and out, before pricing: what a meter, a ledger, a document's
    record or a reduce step counts. `PriceTable.usage` turns them into a `Usage`.

    Stored in a batch's document records as ``{"calls": n, "in": n, "out": n}`` (the aliases),
    which is how records written before this type read back.
    """

    model_config = ConfigDict(frozen=True, serialize_by_alias=True)

    calls: int = 0
    tokens_in: int = Field(default=0, validation_alias=AliasChoices("in", "tokens_in"), serialization_alias="in")
    tokens_out: int = Field(default=0, validation_alias=AliasChoices("out", "tokens_out"), serialization_alias="out")

    @classmethod
    def of(cls, counter: Any) -> CallCounts:
        """The counts of anything that keeps `model_calls`, `input_tokens` and `output_tokens`
        (a graph's meter, a `RunResult`): reasoning's spelling, which cannot import this type."""
        return cls(calls=counter.model_calls, tokens_in=counter.input_tokens, tokens_out=counter.output_tokens)

    def __add__(self, other: CallCounts) -> CallCounts:
        return CallCounts(
            calls=self.calls + other.calls,
            tokens_in=self.tokens_in + other.tokens_in,
            tokens_out=self.tokens_out + other.tokens_out,
        )

    def __sub__(self, other: CallCounts) -> CallCounts:
        return CallCounts(
            calls=self.calls - other.calls,
            tokens_in=self.tokens_in - other.tokens_in,
            tokens_out=self.tokens_out - other.tokens_out,
        )

    def unpriced(self) -> Usage:
        """These counts as a `Usage` without cost (to be priced once, for a whole result)."""
        return Usage(model_calls=self.calls, input_tokens=self.tokens_in, output_tokens=self.tokens_out)


USAGE_DETAIL_KEY = "usage"
"""An activity's final failure carries `{"usage": Usage}` as its first detail (see `usage_of_failure`)."""


def usage_of_failure(error: BaseException) -> Usage | None:
    """The usage a failed activity reported in its error's details, or None.

    Walks the cause chain (the workflow sees ActivityError -> ApplicationError) and reads the
    first detail shaped as `{USAGE_DETAIL_KEY: {...}}`. Pure: safe in workflow code.
    """
    cause: BaseException | None = error
    for _ in range(20):  # failure chains are a few links deep; never loop on a cyclic one
        if cause is None:
            break
        for detail in getattr(cause, "details", None) or ():
            if isinstance(detail, dict) and isinstance(detail.get(USAGE_DETAIL_KEY), dict):
                try:
                    return Usage.model_validate(detail[USAGE_DETAIL_KEY])
                except ValueError:
                    return None
        cause = cause.__cause__ or getattr(cause, "cause", None)
    return None


class Budget(BaseModel):
    """Per-job spending limits (None: unlimited). Reaching one stops new work, not running work.

    When usage reaches a limit the job starts no new subtask or step, lets running ones
    finish, and waits in `awaiting_budget` for `raise_budget` up to `wait_for_raise`; then
    it ends as `budget_exceeded` with what was done.
    """

    max_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)
    max_model_calls: int | None = Field(default=None, ge=1)
    wait_for_raise: timedelta = Field(default=timedelta(days=1), ge=timedelta(0))

    def spent(self, usage: Usage) -> str | None:
        """Which limit `usage` has reached (e.g. "tokens 1,204 of 1,000"), or None."""
        checks = (
            ("tokens", usage.tokens, self.max_tokens),
            ("cost", usage.cost_usd, self.max_cost_usd),
            ("model calls", usage.model_calls, self.max_model_calls),
        )
        for name, used, limit in checks:
            if limit is not None and used >= limit:
                return f"{name} {_num(used)} of {_num(limit)}"
        return None

    def limited(self) -> bool:
        return any(limit is not None for limit in (self.max_tokens, self.max_cost_usd, self.max_model_calls))

    def allowance(self, spent: Usage, granted: list[Budget], slots: int) -> Budget | None:
        """A fair share (1/`slots`) of what is neither spent nor granted to work still running.

        The batch engine hands one to each shard it starts: the shard starts no micro-batch
        once its own usage reaches it, so the shards together stay within the budget up to
        the micro-batches in flight. None when nothing is left in some limited dimension.
        """
        share: dict[str, int | float] = {}
        for name, used in (
            ("max_tokens", spent.tokens),
            ("max_cost_usd", spent.cost_usd),
            ("max_model_calls", spent.model_calls),
        ):
            limit = getattr(self, name)
            if limit is None:
                continue
            left = limit - used - sum(getattr(g, name) or 0 for g in granted)
            if left <= 0:
                return None
            # Whole units for counts: the last few calls or tokens go one to a shard, never none.
            part = left / max(1, slots) if isinstance(limit, float) else max(1, int(left // max(1, slots)))
            share[name] = part
        return Budget.model_validate(share)

    def over(self, usage: Usage) -> dict[str, float]:
        """How far `usage` went past each limit it exceeded (e.g. {"model_calls": 2}); empty if none.

        Reaching a limit stops new work, not running work, so the subtasks that were running
        when it was reached can take a job past it; this is by how much.
        """
        checks = (
            ("tokens", usage.tokens, self.max_tokens),
            ("cost_usd", usage.cost_usd, self.max_cost_usd),
            ("model_calls", usage.model_calls, self.max_model_calls),
        )
        return {name: round(used - limit, 8) for name, used, limit in checks if limit is not None and used > limit}

    def over_line(self, usage: Usage) -> str | None:
        """One human line, e.g. "over budget by 2 model calls (+50%), 310 tokens (+31%)", or None."""
        limits = {"tokens": self.max_tokens, "cost_usd": self.max_cost_usd, "model_calls": self.max_model_calls}
        parts = []
        for name, amount in self.over(usage).items():
            limit = limits[name] or 1
            value = f"${amount:,.4f}" if name == "cost_usd" else f"{int(amount):,} {name.replace('_', ' ')}"
            parts.append(f"{value} (+{amount / limit:.0%})")
        return "over budget by " + ", ".join(parts) if parts else None


class BudgetChange(BaseModel):
    """The `raise_budget` update: new limits (unset fields keep theirs). Each must be above what is spent."""

    max_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)
    max_model_calls: int | None = Field(default=None, ge=1)

    def problem(self, usage: Usage) -> str | None:
        """Why this change cannot resume the job, or None."""
        given = self.model_dump(exclude_none=True)
        if not given:
            return "give at least one new limit: max_tokens, max_cost_usd or max_model_calls"
        spent = {"max_tokens": usage.tokens, "max_cost_usd": usage.cost_usd, "max_model_calls": usage.model_calls}
        for field, limit in given.items():
            if limit <= spent[field]:
                return f"{field}={_num(limit)} is not above what the job has spent ({_num(spent[field])})"
        return None

    def applied_to(self, budget: Budget) -> Budget:
        return budget.model_copy(update=self.model_dump(exclude_none=True))


def _num(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4f}"
