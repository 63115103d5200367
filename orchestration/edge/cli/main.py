"""`durable-research`: the command line. Settings are built here, once, and passed down.

Commands of other packages join through the `durable_research.cli` entry-point group:
each entry point names a `register(app)` function (the experiments package adds
`experiment` this way, so the product never imports the experiments).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import sys
import traceback
from typing import NoReturn

import typer

from orchestration.edge.cli import (
    batch_cmds,
    graphs_cmds,
    job_cmds,
    mcp_cmds,
    memory_cmds,
    nexus_cmds,
    prune_cmds,
    security_cmds,
    server_cmds,
    tools_cmds,
    watch_cmds,
    worker_cmds,
)
from orchestration.edge.cli.output import bad_input
from orchestration.edge.env import Environment
from orchestration.errors import ConfigError

PLUGIN_GROUP = "durable_research.cli"

app = typer.Typer(
    name="durable-research",
    help="Durable AI research jobs on Temporal + LangGraph + Chroma.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain click errors: "Error: Invalid value for '--approve': ..." on one line, not a wrapped panel.
    rich_markup_mode=None,
)


@app.callback()
def _root(ctx: typer.Context) -> None:
    # Every setting is read and checked here, once: a bad variable is one line, exit 2.
    try:
        ctx.obj = Environment.load()
    except ConfigError as exc:
        bad_input(str(exc))


_COMMANDS = (
    server_cmds,
    job_cmds,
    worker_cmds,
    watch_cmds,
    batch_cmds,
    memory_cmds,
    graphs_cmds,
    tools_cmds,
    security_cmds,
    prune_cmds,
    mcp_cmds,
    nexus_cmds,
)
for _module in _COMMANDS:
    _module.register(app)
for _entry in importlib.metadata.entry_points(group=PLUGIN_GROUP):
    _entry.load()(app)


def main() -> None:
    """Run one command, then leave without interpreter teardown (see `_exit_now`)."""
    code = 1
    try:
        app()
    except SystemExit as exc:  # click ends every command this way, success included
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
    _exit_now(code)


def _exit_now(code: int) -> NoReturn:
    """Exit without interpreter teardown.

    The Temporal client's Rust runtime keeps threads that can touch the GIL while
    CPython finalizes, which aborts the process (SIGABRT) at random after the command
    already succeeded (temporalio/sdk-python#300; seen here on about half the runs).
    Everything is flushed first, so skipping teardown loses nothing. Applied once here,
    so every command (short ones, `doctor`, plugins) gets it.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
