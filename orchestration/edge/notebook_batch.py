"""Batches from Jupyter: start one on the notebook's stack, watch it with a progress bar
(sampling documents/s as it goes), plot the rate, show the reduced report.

Usage, in a cell, after ``nb = await Notebook.start(); await nb.start_worker()``::

    handle = await start_notebook_batch(nb, ["./docs"], graph="summarize@1")
    samples = []
    await watch_batch(handle, samples)
    plot_rate(samples)
    show_batch_report(nb, await handle.result())
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from orchestration.batch_client import BatchClient, BatchHandle
from orchestration.edge.batch import start_batch
from orchestration.edge.live_view import WaitPrompts
from orchestration.edge.notebook import Notebook
from orchestration.shared.batch import BATCH_FINAL, BatchProgress, BatchResult, BatchSpec

if TYPE_CHECKING:
    from IPython.display import Markdown
    from matplotlib.figure import Figure


class RateSample(BaseModel):
    """One look at a running batch: seconds since watching began, documents finished."""

    t: float
    done: int
    failed: int
    phase: str
    paused: bool


async def start_notebook_batch(nb: Notebook, sources: list[str], **spec: Any) -> BatchHandle:
    """Check, write the manifest and start a batch on the notebook's queues (its worker runs it)."""
    batches = BatchClient(nb.client.client, queues=nb.client.queues, tuning=nb.client.tuning)
    handle, _ = await start_batch(
        batches, BatchSpec.model_validate(spec), sources,
        store=nb.deps.artifacts, memory=nb.deps.memory_settings, registry=nb.deps.registry,
    )  # fmt: skip
    return handle


async def watch_batch(
    handle: BatchHandle,
    samples: list[RateSample],
    *,
    until: Callable[[BatchProgress], bool] = lambda p: p.phase in BATCH_FINAL,
    interval_s: float = 0.3,
) -> BatchProgress:
    """Show a progress bar (and each wait's prompt, once) until `until(progress)`; append a RateSample per look.

    Returns:
        The last progress.
    """
    from tqdm.auto import tqdm

    start = samples[-1].t if samples else 0.0
    began = time.monotonic() - start
    progress = await handle.progress()
    prompts = WaitPrompts()
    with tqdm(total=progress.total, desc=handle.job_id, unit="doc") as bar:
        while True:
            progress = await handle.progress()
            for text in prompts.new(progress):
                bar.write(text)  # above the bar, which keeps redrawing
            at = round(time.monotonic() - began, 2)
            p = progress
            samples.append(RateSample(t=at, done=p.done, failed=p.failed, phase=p.phase, paused=p.paused))
            bar.n = progress.done + progress.failed
            paused = " (paused)" if progress.paused else ""
            tree, reduce = progress.reduce, ""
            if tree is not None:
                reduce = f", reduce failed: {tree.error}" if tree.error else f", {tree.steps} reduce steps"
            bar.set_postfix_str(f"{progress.phase}{paused}, {progress.usage.model_calls:,} model calls{reduce}")
            bar.refresh()
            if until(progress) or progress.phase in BATCH_FINAL:
                return progress
            await asyncio.sleep(interval_s)


def plot_rate(samples: list[RateSample], title: str = "Documents per second") -> Figure:
    """Documents/s between consecutive samples over time (paused stretches show as zero)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3))
    pairs = list(itertools.pairwise(samples))
    times = [b.t for _, b in pairs]
    rates = [(b.done - a.done) / (b.t - a.t) if b.t > a.t else 0.0 for a, b in pairs]
    ax.plot(times, rates, drawstyle="steps-post")
    for a, b in pairs:
        if b.paused:
            ax.axvspan(a.t, b.t, color="orange", alpha=0.2, lw=0)
    ax.set_xlabel("seconds")
    ax.set_ylabel("documents/s")
    ax.set_title(title + " (orange: paused)")
    fig.tight_layout()
    return fig


def show_batch_report(nb: Notebook, result: BatchResult | BatchProgress) -> Markdown:
    from IPython.display import Markdown

    if result.report is None:
        return Markdown("_No report yet._")
    return Markdown(nb.deps.artifacts.get_text(result.report.key))
