"""A batch document's record: what became of one document, kept as `jobs/<job>/docs/<index>.json`.

Written by the batch activities (in the worker or a pool process), read back by a retried
micro-batch (a recorded document is not analysed again), by the reduce tree (which results to
combine), and by `status` and the MCP tools of a failed or cancelled batch. One frozen model
for all of them, with a default on every field, so a record written by an earlier version
reads back and a misspelt field is an error, not a silent miss. What only the activity needs
while it records (whether the graph ran) stays on the activity's own outcome, not in here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from orchestration.shared.usage import CallCounts


class DocRecord(BaseModel):
    """One document's outcome in a batch.

    Attributes:
        index: the document's place in the batch's manifest.
        source: where it came from (a path, a URL, or a text's key).
        graph: the graph whose analysis is its result (a reused result keeps its own graph);
            None for an ingest batch.
        task: "ingest" for an ingest batch's documents (chunked and indexed, not analysed).
        ok: it has a result (or, ingest, its chunks are indexed).
        error: why not, when it has none.
        hash: the content hash of its text; equal documents share one result.
        result: the result artifact's key.
        reused: the result came from an earlier batch (`--reuse`).
        chunks: the chunks an ingest indexed.
        usage: the model calls its graph made, priced once for the whole micro-batch.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    index: int = 0
    source: str = ""
    graph: str | None = None
    task: Literal["ingest"] | None = None
    ok: bool = False
    error: str = ""
    hash: str = ""
    result: str = ""
    reused: bool = False
    chunks: int = 0
    usage: CallCounts = CallCounts()

    def replace(self, **changes: Any) -> DocRecord:
        """A copy with `changes` validated like a new record's (a misspelt field raises)."""
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise TypeError(f"DocRecord has no field {', '.join(sorted(unknown))}")
        return type(self).model_validate(self.model_dump() | changes)
