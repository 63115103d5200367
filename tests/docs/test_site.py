"""The documentation site builds with `mkdocs build --strict` (a broken link, a missing anchor or
a page left out of the nav fails it), its generated reference covers every command and every
setting the code has, and the README stays a short door into it."""

from __future__ import annotations

import ast
import html
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from orchestration.edge.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("orchestration", "reasoning", "retrieval")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    assert "WARNING" not in build.stderr, build.stderr
    return out


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def _command_paths(command: Any, path: str) -> list[str]:
    out = [path]
    for name in getattr(command, "commands", {}):
        sub = command.commands[name]
        if not sub.hidden:
            out += _command_paths(sub, f"{path} {name}")
    return out


def test_every_command_is_in_the_cli_reference(site: Path) -> None:
    text = _text(site / "reference" / "cli" / "index.html")
    commands = _command_paths(typer.main.get_command(app), "durable-research")[1:]
    assert len(commands) > 30, commands  # the walk reached the sub-commands
    for command in commands:
        assert command in text, f"{command} is missing from the CLI reference"
    for option in ("--approve", "--recovery", "--max-cost", "--question-file"):
        assert option in text


def _settings_classes() -> set[str]:
    # Read from the source, not from imports, so a settings model nobody imports is found too.
    found = set()
    for package in PRODUCT:
        for file in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.ClassDef) and any(
                    isinstance(b, ast.Name) and b.id == "BaseSettings" for b in node.bases
                ):
                    module = ".".join(file.relative_to(ROOT).with_suffix("").parts)
                    found.add(f"{module}:{node.name}")
    return found


def test_every_setting_is_in_the_settings_reference(site: Path) -> None:
    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    try:
        import reference
    finally:
        sys.path.remove(str(ROOT / "docs" / "hooks"))
    assert _settings_classes() == set(reference.SETTINGS_MODELS)
    text = _text(site / "reference" / "settings" / "index.html")
    for variable in ("DURABLE_RESEARCH_HOME", "TEMPORAL_ADDRESS", "DURABLE_RESEARCH_MODEL_PROVIDER",
                     "DURABLE_RESEARCH_CHECKPOINT_CALL_LOG", "DURABLE_RESEARCH_MEMORY_MODE"):  # fmt: skip
        assert variable in text, variable
    from orchestration.settings import OrchestrationSettings

    prefix = str(OrchestrationSettings.model_config.get("env_prefix", ""))
    for name, info in OrchestrationSettings.model_fields.items():
        assert any(v in text for v in reference.variables(prefix, name, info)), name


def test_the_api_reference_renders_the_python_entry_points(site: Path) -> None:
    text = _text(site / "reference" / "api" / "index.html")
    for name in ("Notebook", "ResearchClient", "GraphRegistry"):
        assert name in text, name


def test_the_readme_is_short_and_its_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 120
    assert "make run" in readme and "make test" in readme
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        if not link.startswith(("http://", "https://")):
            assert (ROOT / link).exists(), f"README links to {link}, which does not exist"
