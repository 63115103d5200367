"""A live view of a job's event stream in a notebook: a header with the running totals and a
scrolling log of the latest events, updated as they arrive.

It uses ipywidgets when the notebooks extra installed it, and plain `display` updates
otherwise. The watch is resumable like the CLI's: `EventWatch.next_offset` is where a new
watch (after a kernel restart, say) continues without showing an event twice.

Usage, in a cell::

    watch = EventWatch(nb.client.client, handle.job_id)
    await watch.run()          # or watch.start(): the cell returns, the view keeps updating
    watch.tally.total("tokens_out"), watch.next_offset
"""

from __future__ import annotations

import asyncio
import html
from collections import deque
from typing import Any

from temporalio.client import Client

from orchestration.edge.event_view import event_line, tally_line
from orchestration.job_stream import JobStream, OffsetEvent, StreamGap
from orchestration.shared.events import EventTally, JobEvent

SHOWN_LINES = 25


class EventWatch:
    """Watch job `job_id`'s events from `from_offset` in a notebook view.

    Attributes:
        events: every event seen, with its offset (the watch's own record, for tables and plots).
        tally: the totals, each activity's latest attempt only (retries never double-count).
        next_offset: the offset to resume from.
        gaps: ranges of offsets truncated before this watch read them.
    """

    def __init__(self, client: Client, job_id: str, from_offset: int = 0, *, shown: int = SHOWN_LINES) -> None:
        self.job_id = job_id
        self.events: list[OffsetEvent] = []
        self.tally = EventTally()
        self.next_offset = from_offset
        self.gaps: list[StreamGap] = []
        self._stream = JobStream(client, job_id)
        self._lines: deque[str] = deque(maxlen=shown)
        self._view = _view()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> EventWatch:
        """Show events until the job ends; returns self (its events, tally, next offset)."""
        await self._stream.check_offset(self.next_offset)
        self._view.show(self._header("watching"), [])
        async for item in self._stream.events(self.next_offset):
            if isinstance(item, StreamGap):
                self.gaps.append(item)
                self._lines.append(f"(events {item.start}-{item.end - 1} no longer kept)")
                continue
            self._add(item)
        self._view.show(self._header("ended"), list(self._lines))
        return self

    def start(self) -> asyncio.Task[None]:
        """Run in the background of the kernel's loop; the cell returns at once."""

        async def go() -> None:
            await self.run()

        self.task = asyncio.get_running_loop().create_task(go())
        return self.task

    def of_kind(self, *kinds: str) -> list[JobEvent]:
        """The events seen of these kinds, in order."""
        return [e.event for e in self.events if e.event.kind in kinds]

    def _add(self, item: OffsetEvent) -> None:
        counted = self.tally.add(item.event)
        self.events.append(item)
        self.next_offset = item.offset + 1
        self._lines.append(f"{item.offset:>5}  {event_line(item.event, counted=counted)}")
        self._view.show(self._header("watching"), list(self._lines))

    def _header(self, state: str) -> str:
        return (
            f"job {self.job_id} ({state}, next offset {self.next_offset}): {tally_line(len(self.events), self.tally)}"
        )


class _WidgetView:
    def __init__(self) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self._title = widgets.HTML()
        self._log = widgets.HTML(layout=widgets.Layout(max_height="22em", overflow="auto"))
        display(widgets.VBox([self._title, self._log]))

    def show(self, header: str, lines: list[str]) -> None:
        self._title.value = f"<b>{html.escape(header)}</b>"
        self._log.value = "<pre style='margin:0'>" + html.escape("\n".join(lines)) + "</pre>"


class _PlainView:
    """Without ipywidgets: one display that is replaced on each update."""

    def __init__(self) -> None:
        from IPython.display import display

        self._handle: Any = display("", display_id=True)

    def show(self, header: str, lines: list[str]) -> None:
        if self._handle is not None:
            self._handle.update("\n".join([header, *lines]))


def _view() -> _WidgetView | _PlainView:
    try:
        return _WidgetView()
    except ImportError:
        return _PlainView()
