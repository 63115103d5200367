"""`durable-research watch JOB [--from OFFSET] [--json]`: a job's live events, resumable.

Every event prints with its offset; the last line says the offset to resume from, so a
watcher that stopped (Ctrl-C, a lost connection) continues with `--from N` and sees each
later event once. `--json` prints one JSON object per line (JSON Lines), nothing else: the
events, a `{"gap": ...}` line where retention dropped some, and a closing `{"tally": ...}` line
(events, per-kind counts, nodes, model calls, tokens, retries, final status, next offset).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter

import typer

from orchestration.batch_client import lookup
from orchestration.client import ResearchClient
from orchestration.edge.cli.context import settings as settings_of
from orchestration.edge.cli.output import bad_input, console, err_console, fail
from orchestration.edge.event_view import event_line, tally_line, tally_record
from orchestration.edge.preflight import check_spec
from orchestration.errors import ConfigError, DurableResearchError
from orchestration.job_stream import JobStream, OffsetEvent, StreamGap
from orchestration.settings import OrchestrationSettings
from orchestration.shared.events import EventTally
from orchestration.shared.spec import check_job_id


def watch(
    ctx: typer.Context,
    job: str = typer.Argument(..., help="The job id."),
    from_offset: int = typer.Option(0, "--from", min=0, help="First offset to show (resume where you stopped)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per event and line."),
) -> None:
    """Show a job's events as they happen (phases, subtasks, nodes, model calls, retries), until it ends."""
    try:
        check_job_id(job)
    except ValueError as exc:
        bad_input(str(exc))
    state = _Progress(from_offset)
    try:
        asyncio.run(_watch(settings_of(ctx), job, state, as_json))
    except ConfigError as exc:  # no such job, an offset past the end
        bad_input(str(exc))
    except DurableResearchError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        err_console.print(f"stopped; resume with `durable-research watch {job} --from {state.next}`")
        raise typer.Exit(130) from None


class _Progress:
    """Where the watcher is, so an interrupt can say where to resume."""

    def __init__(self, start: int) -> None:
        self.next = start
        self.events = 0
        self.tally = EventTally()
        self.kinds: Counter[str] = Counter()
        self.phase: str | None = None  # the last phase event's: the final status once the job ends


async def _watch(settings: OrchestrationSettings, job: str, state: _Progress, as_json: bool) -> None:
    client = await ResearchClient.connect(settings, start_server=False, preflight=check_spec)
    stream = JobStream(client.client, job)
    await stream.check_offset(state.next)  # refused before a poll adds anything to the job's history
    async for item in stream.events(state.next):
        if isinstance(item, StreamGap):
            _print_gap(item, as_json)
            continue
        _print_event(item, state.tally.add(item.event), as_json)
        state.next, state.events = item.offset + 1, state.events + 1
        state.kinds[item.event.kind] += 1
        if item.event.kind == "phase":
            state.phase = item.event.phase
    if as_json:
        status = state.phase or await _final_phase(client, job)
        typer.echo(json.dumps({"tally": tally_record(state.events, state.kinds, state.tally, status, state.next)}))
        return
    console.print(tally_line(state.events, state.tally), highlight=False)
    console.print(f"job {job} ended; next offset {state.next}", highlight=False)


async def _final_phase(client: ResearchClient, job: str) -> str | None:
    """The job's phase, when the watcher started past its last phase event (None if no worker answers)."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(10):
            return (await (await lookup(client, job)).progress()).phase
    return None


def _print_event(item: OffsetEvent, counted: bool, as_json: bool) -> None:
    if as_json:
        record = {"offset": item.offset, "counted": counted, **item.event.model_dump(mode="json")}
        typer.echo(json.dumps(record))
    else:
        console.print(f"{item.offset:>6}  {event_line(item.event, counted=counted)}", highlight=False, markup=False)


def _print_gap(gap: StreamGap, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"gap": {"from": gap.start, "to": gap.end}}))
    else:
        err_console.print(f"events {gap.start}-{gap.end - 1} are no longer kept (retention); continuing at {gap.end}")


def register(app: typer.Typer) -> None:
    app.command("watch")(watch)
