"""A batch document's record is one typed model: records written before it existed read back,
a misspelt field is an error, and what is written is what the readers (retry, reduce tree,
status) expect, with nothing transient in it."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from orchestration.shared.doc_record import DocRecord
from orchestration.shared.usage import CallCounts

# As the batch activity wrote them before the record was typed (an analysed document, a failed
# one, an ingest's), including a transient flag that must be ignored if an old file carries it.
OLD = [
    {"index": 4, "source": "a.md", "graph": "extract-claims@1", "hash": "h4", "result": "jobs/b/results/h4.json",
     "ok": True, "usage": {"calls": 2, "in": 310, "out": 41}},
    {"index": 5, "source": "b.md", "graph": "extract-claims@1", "ok": False, "error": "not a readable file (binary)"},
    {"index": 6, "source": "c.md", "task": "ingest", "ok": True, "chunks": 3, "analysed": True},
]  # fmt: skip


def test_records_written_before_the_type_read_back() -> None:
    done, failed, ingested = (DocRecord.model_validate_json(json.dumps(r)) for r in OLD)
    assert done.ok and done.result.endswith("h4.json")
    assert done.usage == CallCounts(calls=2, tokens_in=310, tokens_out=41)
    assert not failed.ok and failed.error.startswith("not a readable") and failed.usage == CallCounts()
    assert ingested.task == "ingest" and ingested.chunks == 3 and ingested.graph is None


def test_the_written_shape_keeps_the_stored_keys() -> None:
    record = DocRecord(index=1, source="x", graph="g@1", ok=True, usage=CallCounts(calls=1, tokens_in=2, tokens_out=3))
    stored = json.loads(record.model_dump_json())
    assert stored["usage"] == {"calls": 1, "in": 2, "out": 3}
    assert {"index", "source", "graph", "ok", "result", "hash"} <= set(stored) and "analysed" not in stored
    assert DocRecord.model_validate(stored) == record


def test_a_misspelt_or_mistyped_change_is_refused() -> None:
    record = DocRecord(index=1)
    assert record.replace(ok=True, chunks=2).chunks == 2
    with pytest.raises(TypeError, match="no field okk"):
        record.replace(okk=True)
    with pytest.raises(ValidationError):
        record.replace(chunks="many")
    with pytest.raises(ValidationError):
        record.index = 2  # type: ignore[misc]  # frozen: a record is replaced, never edited


def test_call_counts_add_subtract_and_leave_pricing_to_the_table() -> None:
    a, b = CallCounts(calls=2, tokens_in=10, tokens_out=4), CallCounts(calls=1, tokens_in=3, tokens_out=1)
    assert a + b == CallCounts(calls=3, tokens_in=13, tokens_out=5) and (a + b) - b == a
    usage = a.unpriced()
    assert (usage.model_calls, usage.input_tokens, usage.output_tokens, usage.cost_usd) == (2, 10, 4, 0.0)
