"""Product text embeddings for the content model and cold start, with a per-text cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from insightloop.capabilities.recommend import EMBEDDERS  # the job validates against it too
from insightloop.errors import ConfigError
from insightloop.models.text_encoders import use_model


def embed_texts(texts: list[str], embedder: str = "use", cache_dir: Path | None = None
                ) -> np.ndarray:
    """Unit vectors for product texts: ``use`` (multilingual Universal Sentence Encoder,
    packaged weights, 512-d) cached per text under ``cache_dir``, or ``tfidf`` (word and
    character n-gram TF-IDF reduced to 128-d by SVD; fast, fitted on these texts)."""
    if embedder not in EMBEDDERS or embedder == "none":
        raise ConfigError(f"embedder must be one of {list(EMBEDDERS[:2])}, got {embedder!r}")
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    if embedder == "tfidf":
        tf = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), min_df=1,
                             sublinear_tf=True).fit_transform([t.lower() for t in texts])
        dims = max(1, min(128, tf.shape[1] - 1, len(texts) - 1))
        vecs = TruncatedSVD(dims, random_state=0).fit_transform(tf) if dims > 1 else \
            tf.toarray()
        return _unit(np.asarray(vecs, dtype=np.float32))
    keys = np.array([hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts])
    cache: dict[str, np.ndarray] = {}
    path = cache_dir / "use-embeddings.npz" if cache_dir is not None else None
    if path is not None and path.exists():
        with np.load(path) as data:
            cache = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    missing = [i for i, k in enumerate(keys) if k not in cache]
    if missing:
        new = np.asarray(use_model().encode([texts[i] for i in missing]), dtype=np.float32)
        cache.update(zip(keys[missing].tolist(), new, strict=True))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.array(list(cache)), vectors=np.stack(list(cache.values())))
            tmp.replace(path)
    return _unit(np.stack([cache[k] for k in keys]).astype(np.float32))


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)
