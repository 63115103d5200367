"""`durable-research experiment recovery` refuses unknown arms and points, naming the valid ones."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from experiments.recovery import ARMS, ExperimentConfigError, profile_config
from orchestration.edge.cli.main import app


def test_unknown_arm_is_refused_with_the_valid_names() -> None:
    result = CliRunner().invoke(app, ["experiment", "recovery", "--arms", "A0,A9"])
    assert result.exit_code == 1
    assert "A9" in result.output
    for arm in ARMS:
        assert arm in result.output
    assert "A5 = A5restart + A5resume" in result.output


def test_unknown_point_is_refused_with_the_valid_names() -> None:
    result = CliRunner().invoke(app, ["experiment", "recovery", "--points", "sometime"])
    assert result.exit_code == 1
    assert "sometime" in result.output and "recovery2" in result.output and "pause" in result.output


def test_a5_names_both_call_log_arms() -> None:
    assert profile_config("quick", arms=["A2", "A5", "A5resume"]).arms == ["A2", "A5restart", "A5resume"]
    with pytest.raises(ExperimentConfigError, match="A5restart"):
        profile_config("quick", arms=["A5restarts"])
