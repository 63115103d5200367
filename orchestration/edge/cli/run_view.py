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
from orchestration.edge.cli.job_support import approval_hint, budget_hint, progress_view, watch_progress
from orchestration.edge.cli.output import console, err_console
from orchestration.edge.event_view import event_line, tally_line
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
    prompts = _Prompts(handle.job_id, live)
    try:
        with Live(console=console, refresh_per_second=4, transient=False) if live else contextlib.nullcontext() as out:
            view.progress = await handle.progress(heartbeats=False)
            async for item in stream.events(0):
                if isinstance(item, StreamGap):
                    continue
                if view.apply(item.event):
                    view.progress = await handle.progress(heartbeats=False)
                    prompts.check(view.progress)
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


class _Prompts:
    """Say once per wait what the user must do: approve, or raise the budget."""

    def __init__(self, job_id: str, live: bool) -> None:
        self.job_id, self.live = job_id, live
        self.told_approval = self.told_budget = False

    def check(self, progress: JobProgress) -> None:
        out = console if self.live else err_console  # JSON mode keeps stdout for the result
        if progress.phase == "awaiting_approval" and not self.told_approval:
            self.told_approval = True
            out.print(approval_hint(self.job_id))
        if progress.phase == "awaiting_budget" and not self.told_budget:
            self.told_budget = True
            out.print(budget_hint(self.job_id, progress.budget_note))
        elif progress.phase != "awaiting_budget":
            self.told_budget = False
