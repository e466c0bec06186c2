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
from insightloop.models.recommend.base import Recommender, make_recommender


class ContentRecommender(Recommender):
    """Cosine between a user's mean item embedding and every item embedding.

    Parameters
    ----------
    item_vectors : DataFrame
        Index = item id (string), one row of floats per item; items missing here get a
        zero vector (never recommended by content alone).
    """

    name = "content"

    def __init__(self, item_vectors: pd.DataFrame | None = None) -> None:
        self.item_vectors = item_vectors

    def _validate(self) -> None:
        if self.item_vectors is None or len(self.item_vectors) == 0:
            raise ConfigError("the content model needs item text embeddings (item_vectors)")

    def _fit(self, x: sp.csr_matrix) -> None:
        vecs = self.item_vectors
        assert vecs is not None  # _validate
        vecs = vecs.set_axis(vecs.index.astype(str))
        aligned = vecs.reindex(pd.Index(self.interactions_.item_ids).astype(str))
        e = np.nan_to_num(aligned.to_numpy(dtype=np.float32))
        norms = np.linalg.norm(e, axis=1)
        norms[norms == 0] = 1.0
        self.e_ = e / norms[:, None]
        self.has_vector_ = aligned.notna().all(axis=1).to_numpy()

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
                 item_vectors: pd.DataFrame | None = None) -> None:
        self.base = base
        self.base_params = base_params
        self.content_weight = content_weight
        self.popularity_weight = popularity_weight
        self.item_vectors = item_vectors

    @property
    def params(self) -> dict[str, Any]:
        return {**super().params, "base_params": dict(self.base_params or {})}

    def _validate(self) -> None:
        make_recommender(self.base, **dict(self.base_params or {}))

    def _fit(self, x: sp.csr_matrix) -> None:
        self.base_ = make_recommender(self.base, **dict(self.base_params or {})
                                      ).fit(self.interactions_)
        self.content_: ContentRecommender | None = None
        if self.item_vectors is not None and self.content_weight > 0:
            self.content_ = ContentRecommender(self.item_vectors).fit(self.interactions_)

    def _score(self, rows: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        out = minmax_rows(self.base_._score(rows, user_idx))
        if self.content_ is not None:
            out += self.content_weight * minmax_rows(self.content_._score(rows, user_idx))
        if self.popularity_weight > 0:
            out += self.popularity_weight * minmax_rows(self.popularity_[None, :])
        return out

    def item_similarity(self, item_idx: np.ndarray) -> np.ndarray:
        out = minmax_rows(self.base_.item_similarity(item_idx))
        if self.content_ is not None:
            out += self.content_weight * minmax_rows(
                self.content_.item_similarity(item_idx))
        return out
