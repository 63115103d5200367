"""`durable-research experiment recovery` refuses unknown arms and points, naming the valid ones."""

from __future__ import annotations

from typer.testing import CliRunner

from orchestration.edge.cli.main import app


def test_unknown_arm_is_refused_with_the_valid_names() -> None:
    result = CliRunner().invoke(app, ["experiment", "recovery", "--arms", "A0,A9"])
    assert result.exit_code == 1
    assert "A9" in result.output and "A1sync" in result.output


def test_unknown_point_is_refused_with_the_valid_names() -> None:
    result = CliRunner().invoke(app, ["experiment", "recovery", "--points", "sometime"])
    assert result.exit_code == 1
    assert "sometime" in result.output and "recovery2" in result.output
