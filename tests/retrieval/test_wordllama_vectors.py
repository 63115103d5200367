"""The project's WordLlama pooling gives WordLlama's own vectors (it only skips the padding)."""

from __future__ import annotations

import numpy as np

from retrieval.embeddings import WordLlamaEmbeddings, _load_wordllama
from tests.retrieval.conftest import write_corpus


def test_vectors_equal_wordllama_embed(tmp_path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    texts = [p.read_text() for p in sorted(corpus.rglob("*")) if p.is_file()]
    texts += ["short", "Ünïcödé and 数字 123", "a much longer text " * 200]
    reference = _load_wordllama()
    reference.tokenizer.enable_padding()  # the library's own path: padded batches, masked pooling
    expected = reference.embed(texts, norm=True, batch_size=4)
    got = np.asarray(WordLlamaEmbeddings().embed_passages(texts))
    assert got.shape == expected.shape == (len(texts), 256)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_text_without_tokens_is_the_zero_vector() -> None:
    (vector,) = WordLlamaEmbeddings().embed_passages([""])
    assert not any(vector)
