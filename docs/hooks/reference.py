"""MkDocs hook: the CLI and settings reference pages are generated from the code at build time.

A page holding `<!-- generated: cli -->` or `<!-- generated: settings -->` gets that marker
replaced by Markdown built from the Typer app and the settings models, so neither the
commands nor the environment variables are written down twice (and a new option or field
appears in the site without anyone remembering to add it).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

# The settings models, each read from its own environment prefix (one home per setting).
SETTINGS_MODELS = (
    "orchestration.settings:OrchestrationSettings",
    "orchestration.worker:WorkerSettings",
    "orchestration.activities.deps:CheckpointSettings",
    "reasoning.models.settings:ModelSettings",
    "reasoning.tools.base:ToolSettings",
    "retrieval.settings:MemorySettings",
)
_MARKERS = {
    "<!-- generated: cli -->": lambda: cli_reference(),
    "<!-- generated: settings -->": lambda: settings_reference(),
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    for marker, build in _MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, build())
    return markdown


def cli_reference() -> str:
    """Every command and sub-command of `durable-research`, with its usage, help and options."""
    from orchestration.edge.cli.main import app

    root = typer.main.get_command(app)
    sections: list[str] = []
    _walk(root, root.context_class(root, info_name="durable-research"), sections, level=3)
    return "\n".join(sections)


def _walk(command: Any, ctx: Any, out: list[str], *, level: int) -> None:
    # Typer carries its own copy of click: duck-typed here rather than importing a private module.
    if ctx.parent is not None:  # the root's own help is the page's introduction
        out.append(f"{'#' * level} `{ctx.command_path}`\n")
        out.append(f"```text\n{' '.join(command.collect_usage_pieces(ctx)).join([ctx.command_path + ' ', ''])}\n```\n")
        if command.help:
            out.append(_plain(command.help) + "\n")
        rows = [_option_row(param, ctx) for param in command.get_params(ctx) if _documented(param)]
        if rows:
            out.append("| option | meaning |\n| --- | --- |")
            out.extend(rows)
            out.append("")
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                child = sub.context_class(sub, info_name=name, parent=ctx)
                _walk(sub, child, out, level=level + (ctx.parent is not None))


def _documented(param: Any) -> bool:
    hidden = {"help", "install_completion", "show_completion"}
    return param.param_type_name == "option" and not param.hidden and param.name not in hidden


def _option_row(param: Any, ctx: Any) -> str:
    # The help record is what `--help` prints: the option with its metavar, and its help with the default.
    record = param.get_help_record(ctx)
    opts, text = record if record else ("/".join(param.opts), param.help or "")
    return f"| `{opts}` | {_cell(text)} |"


def settings_reference() -> str:
    """One table per settings model: variable, type, default, meaning."""
    out: list[str] = []
    for path in SETTINGS_MODELS:
        module, _, attr = path.partition(":")
        model: type[BaseSettings] = getattr(importlib.import_module(module), attr)
        prefix = str(model.model_config.get("env_prefix", ""))
        out.append(f"## `{prefix}*` ({attr})\n")
        out.append(_plain(model.__doc__ or "") + "\n")
        out.append("| variable | type | default | meaning |\n| --- | --- | --- | --- |")
        for name, info in model.model_fields.items():
            out.append(f"| {', '.join(f'`{var}`' for var in variables(prefix, name, info))} | {_type(info)} "
                       f"| {_default(info)} | {_cell(info.description or '')} |")  # fmt: skip
        out.append("")
    return "\n".join(out)


def variables(prefix: str, name: str, info: FieldInfo) -> list[str]:
    """The environment variables that set a field: its aliases if it has any, else prefix + name."""
    choices = getattr(info.validation_alias, "choices", None) or []
    names = [choice for choice in choices if isinstance(choice, str)]
    return names or [f"{prefix}{name}".upper()]


def _type(info: FieldInfo) -> str:
    text = getattr(info.annotation, "__name__", None) or str(info.annotation)
    return _cell(text.replace("typing.", "").replace("pathlib.", ""))


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return _cell(f"`{info.default_factory()}`")  # type: ignore[call-arg]
    if info.default is PydanticUndefined or info.default is None:
        return ""
    return _cell(f"`{info.default}`")


def _plain(text: str) -> str:
    # click keeps \b (no-rewrap markers) in help; docstrings keep their indentation.
    import inspect

    return inspect.cleandoc(text.replace("\b", ""))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
