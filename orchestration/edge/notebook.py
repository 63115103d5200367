"""Run, watch and steer research jobs from Jupyter: server, in-kernel worker, progress, reports, timelines.

Workflows stay in modules (the sandbox cannot load one defined in a cell); graphs may be
defined in cells because only activities run them, and the worker runs in the kernel's
own event loop, so it sees everything the notebook registered.

Usage, in a cell (top-level ``await`` works in IPython)::

    nb = await Notebook.start()
    await nb.start_worker()
    handle = await nb.client.start({"question": "...", "corpus": ["pkgdocs:temporalio"]})
    progress = await watch_progress(handle)
    show_report(handle, await handle.result())
    await nb.close()

For the job's live events (nodes, model calls, tokens, retries) instead of polled progress::

    watch = await nb.watch_events(handle.job_id).run()
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.runtime import MetricBuffer

from orchestration.activities import WorkerDeps
from orchestration.client import JobHandle, ResearchClient
from orchestration.edge.event_widget import EventWatch
from orchestration.edge.live_view import WaitPrompts
from orchestration.edge.preflight import check_spec
from orchestration.server import EmbeddedServer
from orchestration.settings import OrchestrationSettings
from orchestration.shared import names
from orchestration.shared.messages import FINAL_PHASES, JobProgress, JobResult
from orchestration.shared.spec import Provider, parse_subtask_activity_id
from orchestration.telemetry.runtime import buffered_runtime
from orchestration.telemetry.tracing import Tracing
from orchestration.worker import WorkerGroup, WorkerSettings, build_workers

if TYPE_CHECKING:
    from IPython.display import Markdown
    from matplotlib.figure import Figure


class Notebook:
    """One notebook's stack: its state folder, the Temporal server, a client, an in-kernel worker.

    Attributes:
        settings: where state lives and which Temporal to use.
        client: the `ResearchClient` for starting and attaching to jobs.
        deps: what the in-kernel worker's activities use (memory, models, graph registry).
        started_server: True when this notebook started the embedded server (and so stops it).
        metric_buffer: the SDK's in-memory metrics of this notebook's client and worker (the
            same numbers a worker serves on `--metrics-port`); `metric_updates()` drains it.
    """

    def __init__(
        self,
        settings: OrchestrationSettings,
        client: ResearchClient,
        deps: WorkerDeps,
        started_server: bool,
        metric_buffer: MetricBuffer | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        self.tracing = tracing or Tracing(None)
        self.client = client
        self.deps = deps
        self.started_server = started_server
        self.metric_buffer = metric_buffer
        self._group: WorkerGroup | None = None

    @classmethod
    async def start(
        cls,
        home: str | Path | None = None,
        *,
        model: Provider | None = None,
        fake_latency_s: float | None = None,
        memory_mode: Literal["local", "http", "memory"] | None = None,
        metrics: bool = True,
    ) -> Notebook:
        """Start (or reuse) the embedded server for `home` and connect a client.

        Args:
            home: the state folder; default `DURABLE_RESEARCH_HOME`, else a new temp folder
                (then the server also takes free ports, so it never clashes with another).
            model: the worker's default model provider (a job's spec still chooses its own).
            fake_latency_s: seconds per fake-model call, to make a job slow enough to watch.
            memory_mode: override `DURABLE_RESEARCH_MEMORY_MODE` for this notebook's worker.
            metrics: keep the SDK's and the project's metrics in a `MetricBuffer` (no port).
        """
        overrides: dict[str, Any] = {}
        if home is None and not os.environ.get("DURABLE_RESEARCH_HOME"):
            home = tempfile.mkdtemp(prefix="durable-research-nb-")
            overrides |= {"temporal_port": 0, "ui_port": 0}
        if home is not None:
            overrides["home"] = Path(home)
        settings = OrchestrationSettings(**overrides)
        started = settings.embedded and EmbeddedServer(settings).running() is None
        runtime, buffer = buffered_runtime() if metrics else (None, None)
        # With OTEL_EXPORTER_OTLP_ENDPOINT in the kernel's environment, this client and its worker
        # export the job's trace as `durable-research worker` does (a trace viewer shows it).
        tracing = Tracing.from_settings(settings)
        plugins = tracing.plugins()
        client = await ResearchClient.connect(settings, preflight=check_spec, runtime=runtime, plugins=plugins)
        deps = WorkerDeps.from_env(settings.home.expanduser().resolve())
        model_update: dict[str, Any] = {}
        if model is not None:
            model_update["provider"] = model
        if fake_latency_s is not None:
            model_update["fake_latency_s"] = fake_latency_s
        deps.model_settings = deps.model_settings.model_copy(update=model_update)
        if memory_mode is not None:
            deps.memory_settings = deps.memory_settings.model_copy(update={"mode": memory_mode})
        return cls(settings, client, deps, started, buffer, tracing)

    @property
    def home(self) -> Path:
        return self.settings.home.expanduser().resolve()

    @property
    def worker_running(self) -> bool:
        return self._group is not None and self._group.running

    async def start_worker(self, graceful_shutdown_s: float = 5.0) -> None:
        """Run workers for all three task queues as a background task in the kernel's loop."""
        if self.worker_running:
            return
        workers = build_workers(
            self.client.client,
            self.deps,
            queues=self.client.queues,
            settings=WorkerSettings(graceful_shutdown_s=graceful_shutdown_s),
        )
        self._group = WorkerGroup(workers)
        self._group.start()

    async def stop_worker(self) -> None:
        """Stop polling and drain; the job waits in Temporal until a worker is back."""
        if self._group is not None:
            await self._group.stop()
            self._group = None

    def metric_updates(self) -> list[dict[str, Any]]:
        """Drain the metric buffer: one dict per update since the last call (name, value, labels, at).

        Counters are increments (sum them), histograms single observations. Call it every
        few seconds during a long job: a full buffer drops updates.
        """
        if self.metric_buffer is None:
            return []
        at = time.time()
        return [
            {"name": u.metric.name, "value": u.value, "labels": dict(u.attributes), "at": at}
            for u in self.metric_buffer.retrieve_updates()
        ]

    async def fresh_client(self) -> ResearchClient:
        """A new client with no shared state, as a new kernel (or another machine) would build."""
        return await ResearchClient.connect(self.settings, queues=self.client.queues, preflight=check_spec)

    def watch_events(self, job_id: str, from_offset: int = 0) -> EventWatch:
        """A live view of a job's events; `await watch.run()` (until it ends) or `watch.start()`."""
        return EventWatch(self.client.client, job_id, from_offset)

    async def close(self, *, stop_server: bool | None = None) -> None:
        """Stop the worker and, if this notebook started it (or `stop_server`), the server."""
        await self.stop_worker()
        self.tracing.flush()
        stop = self.started_server if stop_server is None else stop_server
        if stop and self.settings.embedded and EmbeddedServer(self.settings).running():
            EmbeddedServer(self.settings).stop()


async def watch_progress(
    handle: JobHandle,
    *,
    until: Iterable[str] | Callable[[JobProgress], bool] = FINAL_PHASES,
    interval_s: float = 0.5,
) -> JobProgress:
    """Show a live progress bar (subtasks done of planned; phase and current nodes as its label)
    and, once per wait, what the job waits for (an approval, a higher budget).

    Args:
        handle: the job to watch.
        until: phases to stop at (e.g. ``{"awaiting_approval"}``), or a predicate on the
            progress; watching always stops when the job ends.
        interval_s: how often to poll the progress query.

    Returns:
        The last progress seen.
    """
    from tqdm.auto import tqdm  # the notebooks extra; the CLI imports this module without it

    done: Callable[[JobProgress], bool] = until if callable(until) else functools.partial(_phase_in, frozenset(until))
    last: JobProgress | None = None
    prompts = WaitPrompts()
    with tqdm(total=0, unit="subtask", desc="starting") as bar:
        async for progress in handle.watch(interval_s=interval_s):
            last = progress
            for text in prompts.new(progress):
                bar.write(text)  # above the bar, which keeps redrawing
            bar.total = max(len(progress.subtasks), 1)
            bar.n = progress.done + progress.failed
            running = [t.node for t in progress.subtasks if t.status == "running" and t.node]
            bar.set_description(progress.phase)
            spent = progress.usage
            bar.set_postfix_str(f"{spent.tokens:,} tokens, ${spent.cost_usd:.4f}; " + ", ".join(running)[:60])
            bar.refresh()
            if progress.phase in FINAL_PHASES or done(progress):
                break
    if last is None:  # the job had already ended before the first poll
        last = await handle.progress()
    return last


def _phase_in(phases: frozenset[str], progress: JobProgress) -> bool:
    return progress.phase in phases


def report_text(handle: JobHandle, result: JobResult | JobProgress) -> str:
    """The report's Markdown from the artifact store (the final, approved version)."""
    if result.report is None:
        state = result.status if isinstance(result, JobResult) else result.phase
        return f"_Job {handle.job_id} has no report ({state})._"
    return handle.report_markdown(result.report.key)


def show_report(handle: JobHandle, result: JobResult | JobProgress) -> Markdown:
    """Render the report as Markdown in the notebook (the cell's value is displayed)."""
    from IPython.display import Markdown

    return Markdown(report_text(handle, result))


class Span(BaseModel):
    """One bar of a job's timeline: an activity from scheduled to closed (seconds from job start)."""

    label: str
    category: Literal["phase", "subtask", "publish", "approval"]
    activity: str
    scheduled: float
    started: float | None = None
    closed: float | None = None
    attempt: int = 1
    outcome: Literal["completed", "failed", "timed_out", "cancelled", "running"] = "running"


_CLOSED = {
    "EVENT_TYPE_ACTIVITY_TASK_COMPLETED": "completed",
    "EVENT_TYPE_ACTIVITY_TASK_FAILED": "failed",
    "EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT": "timed_out",
    "EVENT_TYPE_ACTIVITY_TASK_CANCELED": "cancelled",
}
_CLOSED_ATTR = {
    "completed": "activity_task_completed_event_attributes",
    "failed": "activity_task_failed_event_attributes",
    "timed_out": "activity_task_timed_out_event_attributes",
    "cancelled": "activity_task_canceled_event_attributes",
}


async def job_timeline(handle: JobHandle) -> list[Span]:
    """Spans of every activity of the job, from its event history (no worker needed)."""
    history = await handle.handle.fetch_history()
    t0: datetime | None = None
    spans: dict[int, Span] = {}
    for event in history.events:
        when = event.event_time.ToDatetime()
        t0 = t0 or when
        at = (when - t0).total_seconds()
        kind = EventType.Name(event.event_type)
        if kind == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED":
            scheduled = event.activity_task_scheduled_event_attributes
            spans[event.event_id] = _span(scheduled.activity_type.name, scheduled.activity_id, at)
        elif kind == "EVENT_TYPE_ACTIVITY_TASK_STARTED":
            started = event.activity_task_started_event_attributes
            span = spans[started.scheduled_event_id]
            span.started, span.attempt = at, started.attempt
        elif kind in _CLOSED:
            outcome = _CLOSED[kind]
            span = spans[getattr(event, _CLOSED_ATTR[outcome]).scheduled_event_id]
            span.closed, span.outcome = at, outcome  # type: ignore[assignment]
        elif kind == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            name = event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            if name in _DECISIONS:
                _add_approval_wait(spans, name, at)
    return sorted(spans.values(), key=lambda s: s.scheduled)


# The updates that end the approval wait, by the names the history records them under.
_DECISIONS = (names.APPROVE_UPDATE, names.REJECT_UPDATE, names.REVISE_UPDATE)


def _add_approval_wait(spans: dict[int, Span], decision: str, at: float) -> None:
    """The wait for a human: from the last written report to the decision."""
    written = [s.closed for s in spans.values() if s.activity == names.WRITE and s.closed is not None]
    if not written:
        return
    begin = max(written)
    spans[-len(spans) - 1] = Span(
        label=f"awaiting approval ({decision})", category="approval", activity="approval",
        scheduled=begin, started=begin, closed=at, outcome="completed",
    )  # fmt: skip


def _span(activity_type: str, activity_id: str, at: float) -> Span:
    if activity_type == names.RUN_SUBTASK:
        parsed = parse_subtask_activity_id(activity_id)
        label = f"{parsed[0]} (r{parsed[1]})" if parsed else activity_id
        return Span(label=label, category="subtask", activity=activity_type, scheduled=at)
    short = activity_type.split(".", 1)[-1]
    category: Literal["phase", "publish"] = "phase" if activity_type in _PHASES else "publish"
    return Span(label=short, category=category, activity=activity_type, scheduled=at)


_PHASES = {names.INGEST, names.PLAN, names.VALIDATE, names.WRITE}
_COLOURS = {"phase": "tab:blue", "subtask": "tab:orange", "approval": "tab:gray", "publish": "tab:green"}


def plot_timeline(spans: list[Span], title: str = "Job timeline") -> Figure:
    """A Gantt chart of the spans: queued time hatched, running time solid, failures red."""
    import matplotlib.pyplot as plt  # pyplot, so Jupyter's inline backend shows the figure
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(9, 0.35 * max(len(spans), 3) + 1.2))
    end_of_job = max((s.closed or s.started or s.scheduled for s in spans), default=1.0)
    thinnest = end_of_job / 300  # keep millisecond activities visible as a sliver
    for row, span in enumerate(spans):
        start = span.started if span.started is not None else span.scheduled
        end = span.closed if span.closed is not None else end_of_job
        colour = "tab:red" if span.outcome in ("failed", "timed_out") else _COLOURS[span.category]
        if start > span.scheduled:
            ax.barh(row, start - span.scheduled, left=span.scheduled, color=colour, alpha=0.25, hatch="//")
        ax.barh(row, max(end - start, thinnest), left=start, color=colour)
    ax.set_yticks(range(len(spans)), [s.label for s in spans])
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel("seconds since the job started")
    ax.set_title(title)
    ax.legend(
        handles=[Patch(color=c, label=k) for k, c in _COLOURS.items()],
        loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
    )  # fmt: skip
    fig.tight_layout()
    return fig
