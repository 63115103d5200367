"""Every notebook in notebooks/ runs top to bottom in a fresh kernel against the embedded server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))
CLI = str(Path(sys.executable).parent / "durable-research")
PER_NOTEBOOK_S = 240


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "DURABLE_"))}
    return env | {
        "DURABLE_RESEARCH_HOME": str(home),
        "DURABLE_RESEARCH_TEMPORAL_PORT": "0",
        "DURABLE_RESEARCH_UI_PORT": "0",
    }


def test_every_notebook_is_collected() -> None:
    assert len(NOTEBOOKS) >= 3, NOTEBOOKS


@pytest.mark.slow
@pytest.mark.timeout(PER_NOTEBOOK_S + 30)
@pytest.mark.filterwarnings("ignore:Jupyter is migrating its paths:DeprecationWarning")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), (
        f"{path.name} is committed with outputs; clear them"
    )
    home = tmp_path / "state"
    client = NotebookClient(
        notebook,
        timeout=PER_NOTEBOOK_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute(env=_env(home))
    finally:
        # A notebook that failed half-way leaves its server up: stop it (quietly if none).
        subprocess.run([CLI, "server", "stop"], env=_env(home), capture_output=True, timeout=60)
