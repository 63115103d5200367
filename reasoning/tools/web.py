"""Reference sources from langchain-community, as tools: Wikipedia (the `web` extra, off by default).

Registered only when `langchain-community` and `wikipedia` are installed (``pip install
'durable-research[web]'``), and used only where a job's spec names the tool for a kind: they
reach the public internet. What a tool reads is indexed into the job's collection like
`fetch_url`'s pages, so findings cite it by chunk id. langchain-community is in maintenance
(its import warns that it is being sunset); its Wikipedia wrapper is what this uses, behind
one function, so moving to a standalone package touches this module only.
"""

from __future__ import annotations

import warnings
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from reasoning.tools.base import ToolContext, register_tool
from reasoning.tools.builtin import evidence_lines

with warnings.catch_warnings():  # "langchain-community is being sunset": known, and said above
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.utilities.wikipedia import WikipediaAPIWrapper

_MAX_CHARS = 20_000  # of one article: enough for an answer, bounded for the index


@register_tool("wikipedia", description="Search Wikipedia and index the best articles for the job (needs the network).")
def make_wikipedia(context: ToolContext) -> BaseTool:
    wrapper = WikipediaAPIWrapper(top_k_results=2, doc_content_chars_max=_MAX_CHARS)  # type: ignore[call-arg]
    if context.settings.wikipedia_api_url:  # the wrapper resets the endpoint to the language's: set it after
        wrapper.wiki_client.wikipedia.API_URL = context.settings.wikipedia_api_url

    def wikipedia(query: str) -> tuple[str, list[dict[str, Any]]]:
        try:
            docs = wrapper.load(query)
        except Exception as exc:  # the network, the API: the model reads why and goes on
            return f"wikipedia failed for {query!r}: {type(exc).__name__}: {str(exc)[:200]}", []
        if not docs:
            return f"Wikipedia has no article for {query!r}.", []
        if context.sink is None:
            return "\n\n".join(f"{d.metadata.get('title', '')}: {d.page_content[:2000]}" for d in docs), []
        evidence = [
            e
            for d in docs
            for e in context.sink.add(
                str(d.metadata.get("source", "")), str(d.metadata.get("title", "")), d.page_content
            )
        ]
        return evidence_lines(evidence), [e.model_dump(mode="json") for e in evidence]

    return StructuredTool.from_function(
        wikipedia,
        name="wikipedia",
        description="Search Wikipedia for a topic; passages of the best articles, each with a [chunk_id] to cite.",
        response_format="content_and_artifact",
    )
