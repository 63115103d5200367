"""Each budget (steps, model calls, tokens, wall time) stops a run with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from reasoning import (
    BudgetExceededError,
    Budgets,
    FakeChatModel,
    GraphContext,
    ResearchInput,
    Subtask,
    default_registry,
    read_call_log,
    run_graph,
)
from tests.reasoning.corpus import KeywordRetriever

INPUT = ResearchInput(subtask=Subtask(id="s1", kind="research", question="What is Chroma?"))


def _run(ctx: GraphContext, budgets: Budgets) -> BudgetExceededError:
    with pytest.raises(BudgetExceededError) as info:
        run_graph(default_registry.get("researcher@1"), INPUT, context=ctx, budgets=budgets)
    return info.value


def test_steps(tmp_path: Path) -> None:
    # The check never passes and the loop bound is high: only max_steps can stop it.
    model = FakeChatModel(check_rounds=99)
    ctx = GraphContext(retriever=KeywordRetriever(), model=model, params={"max_rounds": 50})
    err = _run(ctx, Budgets(max_steps=8))
    assert (err.budget, err.limit) == ("steps", 8)
    assert "Budget 'steps' exceeded" in str(err)


def test_model_calls_stop_before_the_provider_is_called(fake_ctx: GraphContext, call_log: Path) -> None:
    err = _run(fake_ctx, Budgets(max_model_calls=2))
    assert (err.budget, err.limit, err.used) == ("model_calls", 2, 3)
    assert len(read_call_log(call_log)) == 2  # the third call never reached the model


def test_tokens(fake_ctx: GraphContext) -> None:
    err = _run(fake_ctx, Budgets(max_tokens=50))
    assert err.budget == "tokens" and err.used > 50


def test_wall_time() -> None:
    ctx = GraphContext(retriever=KeywordRetriever(), model=FakeChatModel(latency_s=0.3))
    err = _run(ctx, Budgets(max_wall_s=0.4))
    assert err.budget == "wall_s" and err.limit == 0.4
