"""`durable-research`: the command line. Settings are built here, once, and passed down."""

from __future__ import annotations

import typer

from orchestration.cli import experiment_cmds, graphs_cmds, job_cmds, memory_cmds, server_cmds
from orchestration.settings import OrchestrationSettings

app = typer.Typer(
    name="durable-research",
    help="Durable AI research jobs on Temporal + LangGraph + Chroma.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(ctx: typer.Context) -> None:
    ctx.obj = OrchestrationSettings()


for _module in (server_cmds, job_cmds, memory_cmds, graphs_cmds, experiment_cmds):
    _module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
