"""`durable-research graphs list [--json]` shows the registered graphs; bad --load fails clearly."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from orchestration.edge.cli.main import app


def test_list_json_has_builtins_with_nodes_and_types() -> None:
    result = CliRunner().invoke(app, ["graphs", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["key"]: row for row in json.loads(result.stdout)}
    assert {"planner@1", "researcher@1", "researcher-lite@1", "validator@1", "writer@1"} <= set(rows)
    assert rows["researcher@1"]["nodes"][:2] == ["retrieve", "read"]
    assert (rows["writer@1"]["input"], rows["writer@1"]["output"]) == ("WriterInput", "WriterOutput")


def test_table_and_bad_load_path() -> None:
    table = CliRunner().invoke(app, ["graphs", "list"])
    assert table.exit_code == 0 and "researcher-lite@1" in table.stdout
    bad = CliRunner().invoke(app, ["graphs", "list", "--load", "no_such_module_q:x"])
    assert bad.exit_code == 2
    assert "Cannot import module" in bad.stderr
