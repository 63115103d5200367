"""A workflow and activity that move a multi-megabyte document (no tests here).

The shape of a large corpus manifest or a long finding crossing the Temporal boundary:
the client starts with the document, an activity returns a transformed copy, the
workflow optionally waits for a signal (to stay running for the prune test) and returns it.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow


class Document(BaseModel):
    text: str
    wait_for_release: bool = False


@activity.defn(name="test.large.upper")
async def upper(doc: Document) -> Document:
    return Document(text=doc.text.upper())


@workflow.defn(name="test.LargePayload")
class LargePayloadWorkflow:
    def __init__(self) -> None:
        self._released = False

    @workflow.run
    async def run(self, doc: Document) -> Document:
        if doc.wait_for_release:
            await workflow.wait_condition(lambda: self._released)
        return await workflow.execute_activity(upper, doc, start_to_close_timeout=timedelta(seconds=60))

    @workflow.signal
    def release(self) -> None:
        self._released = True
