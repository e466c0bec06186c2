"""Static review embeddings distilled from multilingual-e5-small (model2vec-style).

Every vocabulary entry (English words and word pairs, Chinese characters and character
pairs, taken from a multi-domain review corpus) was run once through the e5 encoder as a
short ``query:`` input; the vectors were reduced by PCA and stored as float16 with a
SIF weight per entry (``a / (a + p(entry))``, frequent entries weigh less). A review is
the weighted mean of the vectors of the entries it contains, L2-normalised: one sparse
count matrix times the vector table, no neural network at scoring time.

The vector file (``data/sentiment_static_vectors.npz``) is built by
``benchmarks/sentiment_static.py --ship``; it holds plain arrays only (no pickle):
``vocab`` (entries joined by newlines; English first), ``n_en``, ``vectors`` (V x d,
float16) and ``weights`` (V, float16).
"""

from __future__ import annotations

import importlib.resources
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

VECTORS_FILE = "sentiment_static_vectors.npz"
EN_TOKENS = r"[a-z][a-z']*[a-z]|[a-z]"
"""English tokens: lower-case Latin letter runs, inner apostrophes kept (``don't``)."""
_LOCK = threading.Lock()
_LOADED: dict[str, StaticEmbedder] = {}


def en_counter(vocabulary: Sequence[str] | None = None, **kwargs: object) -> CountVectorizer:
    """Counts of English words and word pairs (fixed vocabulary when given)."""
    return CountVectorizer(analyzer="word", ngram_range=(1, 2), lowercase=True,
                           token_pattern=EN_TOKENS,
                           vocabulary=list(vocabulary) if vocabulary is not None else None,
                           dtype=np.float32, **kwargs)


def zh_counter(vocabulary: Sequence[str] | None = None, **kwargs: object) -> CountVectorizer:
    """Counts of characters and character pairs (only CJK entries are ever in the vocabulary)."""
    return CountVectorizer(analyzer="char", ngram_range=(1, 2), lowercase=False,
                           vocabulary=list(vocabulary) if vocabulary is not None else None,
                           dtype=np.float32, **kwargs)


class StaticEmbedder:
    """Weighted mean of distilled e5 vectors of the entries found in each text.

    Parameters
    ----------
    vocab : sequence of str
        English entries first (``n_en`` of them), then Chinese ones.
    n_en : int
    vectors : ndarray (V, d)
    weights : ndarray (V,)
        Per-entry weight (SIF); 0 drops an entry.
    """

    def __init__(self, vocab: Sequence[str], n_en: int, vectors: np.ndarray,
                 weights: np.ndarray) -> None:
        vocab = list(vocab)
        if len(vocab) != len(vectors) or len(vocab) != len(weights):
            raise ValueError(f"{len(vocab)} vocabulary entries but {len(vectors)} vectors and "
                             f"{len(weights)} weights")
        self.vocab = vocab
        self.n_en = int(n_en)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.weights = np.asarray(weights, dtype=np.float32)
        self._en = en_counter(vocab[: self.n_en])
        self._zh = zh_counter(vocab[self.n_en:])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Entry counts, shape ``(len(texts), V)`` (columns in vocabulary order)."""
        texts = list(texts)
        return sp.hstack([self._en.transform(texts), self._zh.transform(texts)], format="csr")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm embeddings, float32 ``(len(texts), dim)``; zero rows for no known entry."""
        x = self.counts(texts) @ sp.diags(self.weights)
        out = np.asarray(x @ self.vectors, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def save(self, path: Path | str) -> Path:
        """Write the vocabulary, vectors (float16) and weights to ``path`` (.npz, no pickle)."""
        path = Path(path)
        np.savez_compressed(path, vocab=np.array("\n".join(self.vocab)),
                            n_en=np.array([self.n_en]),
                            vectors=self.vectors.astype(np.float16),
                            weights=self.weights.astype(np.float16))
        return path

    @classmethod
    def load(cls, path: Path | str) -> StaticEmbedder:
        with np.load(path, allow_pickle=False) as z:
            vocab = str(z["vocab"]).split("\n")
            return cls(vocab, int(z["n_en"][0]), z["vectors"], z["weights"])


def packaged_static() -> StaticEmbedder:
    """The shipped vector table (loaded once per process)."""
    path = str(importlib.resources.files("insightloop.data") / VECTORS_FILE)
    with _LOCK:
        if path not in _LOADED:
            _LOADED[path] = StaticEmbedder.load(path)
        return _LOADED[path]
