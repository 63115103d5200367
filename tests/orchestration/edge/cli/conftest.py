"""The CLI's memory commands (ingest, search, reindex) run against a `chroma run` server too."""

from tests.retrieval.conftest import chroma_url  # noqa: F401  (a session fixture shared with tests/retrieval)
