"""`run`'s live view, driven by the job's event stream: every node and model call, not a sample of them.

Polling progress every half second showed the node of each running subtask's last
heartbeat, so nodes that finished between two polls (or between two heartbeats, which
the SDK throttles) were never on screen. The view now follows `JobStream` from offset 0:
each event updates the subtask's current node and a tail of recent event lines, and only
the events that change the workflow's own state (phase, subtask started or finished,
approval) ask the `progress` query for the table, the counts and the spending. One
stream poll every half second replaces one describe plus one query (plus heartbeat
decoding) per half second. A graph's node events arrive in its publisher's batches (every
second at first, less often as it ages), so a long graph's node can trail the heartbeat.
If the stream cannot be read (a job without one), the view falls back to polling progress.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.text import Text

from orchestration.client import JobHandle
from orchestration.edge.cli.job_support import progress_view
from orchestration.edge.cli.output import console, err_console
from orchestration.edge.event_view import event_line, tally_line
from orchestration.edge.live_view import WaitPrompts
from orchestration.job_stream import JobStream, StreamGap
from orchestration.shared.events import EventTally, JobEvent
from orchestration.shared.messages import JobProgress

RECENT_LINES = 5
# Events that change what the progress query returns (the workflow's own state).
_REFRESH_KINDS = frozenset({"phase", "subtask_started", "subtask_finished", "approval"})
_log = logging.getLogger(__name__)


class RunView:
    """What the live view knows: the last progress, each subtask's node from the stream, recent events."""

    def __init__(self, handle: JobHandle) -> None:
        self.handle = handle
        self.progress: JobProgress | None = None
        self.nodes: dict[str, tuple[str, int]] = {}  # subtask -> (node, attempt), newest attempt wins
        self.recent: deque[str] = deque(maxlen=RECENT_LINES)
        self.tally = EventTally()
        self.shown = 0

    def apply(self, event: JobEvent) -> bool:
        """Take one event; True when the progress query should be asked again."""
        counted = self.tally.add(event)
        self.shown += 1
        if event.kind != "tokens":  # streamed text would push every other line out of the tail
            self.recent.append(event_line(event, counted=counted))
        if counted and event.subtask and event.node and event.kind in ("node_started", "node_finished"):
            self.nodes[event.subtask] = (event.node, event.attempt)
        return event.kind in _REFRESH_KINDS

    def render(self) -> Group:
        parts: list[Any] = []
        if self.progress is not None:
            for task in self.progress.subtasks:
                if task.status == "running" and task.ref.id in self.nodes:
                    task.node, task.attempt = self.nodes[task.ref.id]
            parts.append(progress_view(self.progress, self.handle.ui_link))
        parts.extend(Text(line, style="dim") for line in self.recent)
        parts.append(Text(tally_line(self.shown, self.tally), style="dim"))
        return Group(*parts)


async def follow_run(handle: JobHandle, stream: JobStream, *, live: bool) -> RunView | None:
    """Show the job live until it ends (or, with `live` False, only print the approval and budget hints).

    Returns:
        What the view showed; None when the stream could not be read and progress was polled.
    """
    view = RunView(handle)
    prompts = WaitPrompts()
    try:
        with Live(console=console, refresh_per_second=4, transient=False) if live else contextlib.nullcontext() as out:
            view.progress = await handle.progress(heartbeats=False)
            async for item in stream.events(0):
                if isinstance(item, StreamGap):
                    continue
                if view.apply(item.event):
                    view.progress = await handle.progress(heartbeats=False)
                    _tell(prompts, view.progress, live=live)
                if out is not None:
                    out.update(view.render())
            view.progress = await handle.progress(heartbeats=False)
            if out is not None:
                out.update(view.render())
    except Exception as exc:  # the view is for watching: the job runs on, shown by polling instead
        _log.warning("event stream of %s not readable (%s); showing progress by polling", handle.job_id, exc)
        await watch_progress(handle, live=live)
        return None
    if live:
        console.print()
    return view


async def watch_progress(handle: JobHandle, *, live: bool) -> None:
    """The live view by polling progress (each running subtask's node from its heartbeat).

    `follow_run` falls back to this when the job's event stream cannot be read.
    """
    prompts = WaitPrompts()
    with Live(console=console, refresh_per_second=4, transient=False) if live else contextlib.nullcontext() as view:
        async for progress in handle.watch(interval_s=0.5):
            if view is not None:
                view.update(progress_view(progress, handle.ui_link))
            _tell(prompts, progress, live=live)
    if live:
        console.print()


def _tell(prompts: WaitPrompts, progress: JobProgress, *, live: bool) -> None:
    out = console if live else err_console  # Live redraws stdout; JSON mode keeps stdout for the result
    for text in prompts.new(progress):
        out.print(text, markup=False, highlight=False)
