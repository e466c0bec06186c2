"""Content-based and hybrid recommenders on item text embeddings.

``ContentRecommender`` represents a user by the weighted mean of the (unit) embeddings of
the items they interacted with and ranks items by cosine; items without interactions are
ranked too, so it serves cold-start items and users with a short history. ``Hybrid``
blends a collaborative model with the content model (per-user min-max normalised scores).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insightloop.errors import ConfigError
from insightloop.models.recommend.base import Recommender, check_params


class ContentRecommender(Recommender):
    """Cosine between a user's mean item embedding and every item embedding.

    Parameters
    ----------
    item_vectors : DataFrame
        Index = item id (string), one row of floats per item; items missing here get a
        zero vector (never recommended by content alone).
    """

    name = "content"

    def __init__(self, item_vectors: pd.DataFrame | None = None, **params: Any) -> None:
        check_params(self.name, params, set())
        if item_vectors is None or len(item_vectors) == 0:
            raise ConfigError("the content model needs item text embeddings (item_vectors)")
        super().__init__()
        self.item_vectors = item_vectors

    def _fit(self, x: sp.csr_matrix) -> None:
        vecs = self.item_vectors
        vecs = vecs.set_axis(vecs.index.astype(str))
        aligned = vecs.reindex(pd.Index(self.interactions_.item_ids).astype(str))
        e = np.nan_to_num(aligned.to_numpy(dtype=np.float32))
        norms = np.linalg.norm(e, axis=1)
        norms[norms == 0] = 1.0
        self.e_ = e / norms[:, None]
        self.has_vector_ = aligned.notna().all(axis=1).to_numpy()
        self.item_vectors = None  # keep only the aligned copy (smaller artifact)

    def _score(self, rows: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        profile = np.asarray(rows @ self.e_, dtype=np.float32)
        norms = np.linalg.norm(profile, axis=1)
        norms[norms == 0] = 1.0
        scores = (profile / norms[:, None]) @ self.e_.T
        scores[:, ~self.has_vector_] = -np.inf
        return np.asarray(scores, dtype=np.float64)

    def item_similarity(self, item_idx: np.ndarray) -> np.ndarray:
        sims = np.asarray(self.e_[np.asarray(item_idx)] @ self.e_.T, dtype=np.float64)
        sims[:, ~self.has_vector_] = -np.inf
        return sims


def minmax_rows(scores: np.ndarray) -> np.ndarray:
    """Scale each row's finite values to [0, 1]; non-finite cells become 0."""
    s = np.where(np.isfinite(scores), scores, np.nan)
    lo = np.nanmin(np.where(np.isnan(s), np.inf, s), axis=1, keepdims=True)
    hi = np.nanmax(np.where(np.isnan(s), -np.inf, s), axis=1, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    out = (s - np.where(np.isfinite(lo), lo, 0.0)) / span
    return np.nan_to_num(out, nan=0.0)


class Hybrid(Recommender):
    """Weighted blend of a collaborative model, the content model and popularity.

    ``score = minmax(cf) + content_weight * minmax(content) + popularity_weight *
    minmax(popularity)``, so a cold item (no interactions) can still rank by its text.
    """

    name = "hybrid"

    def __init__(self, base: str = "ease", base_params: dict[str, Any] | None = None,
                 content_weight: float = 0.1, popularity_weight: float = 0.0,
                 item_vectors: pd.DataFrame | None = None, **params: Any) -> None:
        check_params(self.name, params, set())
        super().__init__(base=base, base_params=dict(base_params or {}),
                         content_weight=content_weight, popularity_weight=popularity_weight)
        self.item_vectors = item_vectors

    def _fit(self, x: sp.csr_matrix) -> None:
        from insightloop.models.recommend import make_recommender

        p = self.params
        self.base_ = make_recommender(p["base"], **p["base_params"]).fit(self.interactions_)
        self.content_: ContentRecommender | None = None
        if self.item_vectors is not None and p["content_weight"] > 0:
            self.content_ = ContentRecommender(self.item_vectors).fit(self.interactions_)
        self.item_vectors = None

    def _score(self, rows: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        p = self.params
        out = minmax_rows(self.base_._score(rows, user_idx))
        if self.content_ is not None:
            out += p["content_weight"] * minmax_rows(self.content_._score(rows, user_idx))
        if p["popularity_weight"] > 0:
            out += p["popularity_weight"] * minmax_rows(self.popularity_[None, :])
        return out

    def item_similarity(self, item_idx: np.ndarray) -> np.ndarray:
        out = minmax_rows(self.base_.item_similarity(item_idx))
        if self.content_ is not None:
            out += self.params["content_weight"] * minmax_rows(
                self.content_.item_similarity(item_idx))
        return out
