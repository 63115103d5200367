"""Costs come from the price table per provider:model; offline providers are free; unknown models are
counted as unpriced; a table that cannot be read or parsed is one clear ConfigError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.errors import ConfigError
from orchestration.shared import Budget, BudgetChange, Usage
from orchestration.shared.usage import CallCounts
from orchestration.telemetry.prices import PriceTable


def _table(tmp_path: Path, prices: object) -> PriceTable:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(prices))
    return PriceTable.load(path)


def test_cost_per_model_and_provider(tmp_path: Path) -> None:
    table = _table(
        tmp_path,
        {
            "openai:gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.60},
            "openai": {"input_per_million": 2.0, "output_per_million": 8.0},
        },
    )
    mini = table.usage("openai", "gpt-4o-mini", CallCounts(calls=2, tokens_in=1_000_000, tokens_out=500_000))
    assert mini.cost_usd == pytest.approx(0.15 + 0.30) and mini.unpriced_calls == 0
    other = table.usage(
        "openai", "some-other-model", CallCounts(calls=1, tokens_in=1000, tokens_out=1000)
    )  # falls back to the provider's price
    assert other.cost_usd == pytest.approx((1000 * 2.0 + 1000 * 8.0) / 1e6)


def test_offline_providers_are_free_and_unknown_models_unpriced() -> None:
    table = PriceTable.load(None)
    assert table.usage("fake", None, CallCounts(calls=3, tokens_in=10_000, tokens_out=10_000)).cost_usd == 0
    assert table.usage("extractive", None, CallCounts(calls=3, tokens_in=10_000, tokens_out=10_000)).unpriced_calls == 0
    unknown = table.usage("openai", "gpt-x", CallCounts(calls=4, tokens_in=100, tokens_out=100))
    assert (unknown.cost_usd, unknown.unpriced_calls) == (0, 4)
    assert "4 calls of unpriced models" in unknown.line()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot be read"),
        ("{not json", "is not JSON"),
        (json.dumps({"openai": {"input_per_million": -1, "output_per_million": 1}}), "openai.input_per_million"),
        (json.dumps({"openai": 3}), "each entry needs"),
    ],
)
def test_bad_table_is_one_clear_error(tmp_path: Path, content: str | None, says: str) -> None:
    path = tmp_path / "prices.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=says) as err:
        PriceTable.load(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_budget_is_spent_at_its_limit_and_raises_must_exceed_spending() -> None:
    spent = Usage(model_calls=5, input_tokens=700, output_tokens=300, cost_usd=0.25)
    assert Budget().spent(spent) is None
    assert Budget(max_tokens=1000).spent(spent) == "tokens 1,000 of 1,000"
    assert Budget(max_cost_usd=0.2).spent(spent) == "cost 0.2500 of 0.2000"
    assert Budget(max_model_calls=6).spent(spent) is None
    assert BudgetChange().problem(spent) is not None
    assert "not above" in (BudgetChange(max_cost_usd=0.25).problem(spent) or "")
    assert BudgetChange(max_tokens=1001).problem(spent) is None
    raised = BudgetChange(max_tokens=2000).applied_to(Budget(max_tokens=1000, max_model_calls=9))
    assert (raised.max_tokens, raised.max_model_calls) == (2000, 9)


def test_allowance_shares_what_is_neither_spent_nor_granted() -> None:
    budget = Budget(max_model_calls=100, max_cost_usd=1.0)
    spent = Usage(model_calls=20, cost_usd=0.2)
    first = budget.allowance(spent, [], slots=4)
    assert first == Budget(max_model_calls=20, max_cost_usd=0.2)
    second = budget.allowance(spent, [first], slots=3)  # the same share for the next running shard
    assert second is not None and second.max_model_calls == 20 and second.max_cost_usd == pytest.approx(0.2)
    # The last few calls still go one to a shard; nothing left in any limited dimension is None.
    assert budget.allowance(Usage(model_calls=98), [], slots=4) == Budget(max_model_calls=1, max_cost_usd=0.25)
    assert budget.allowance(Usage(model_calls=100), [], slots=1) is None
    assert Budget().allowance(spent, [], slots=2) == Budget() and not Budget().limited()
