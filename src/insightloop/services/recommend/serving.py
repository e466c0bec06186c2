"""The recommendation server (one customer in milliseconds) and its per-process model cache."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insightloop.capabilities.recommend import MODEL_NAME
from insightloop.errors import NotFoundError
from insightloop.models.recommend.base import Recommender
from insightloop.models.recommend.content import ContentRecommender
from insightloop.models.recommend.neighbours import ItemKNN
from insightloop.models.recommend.rules import explain
from insightloop.models.recommend.topk import mask_rows, top_k
from insightloop.services.context import Context
from insightloop.services.registry import ARTIFACT
from insightloop.services.results import (
    Recommendations,
    RecommendedItem,
    SimilarItem,
    SimilarItems,
)
from insightloop.storage.ids import normalize_id


class RecommendationServer:
    """Everything needed to answer one customer in milliseconds (picklable).

    Holds the fitted model (its factors or item weights), the item-neighbour matrix used for
    explanations and similar items, the content model (cold start), product descriptions,
    the excluded (out-of-stock) items and each customer's purchases (``purchased``, users x
    items; excluded from their recommendations — viewed products stay recommendable; default:
    every training interaction counts as a purchase).
    """

    #: Layout version of the pickled server; bump it whenever attributes change, so an
    #: artifact saved by an older release asks for a rebuild instead of failing mid-request.
    FORMAT = 2

    def __init__(self, model: Recommender, neighbours: ItemKNN,
                 content: ContentRecommender | None, catalogue: pd.DataFrame,
                 exclude: np.ndarray, label: str,
                 purchased: sp.csr_matrix | None = None) -> None:
        self.format = self.FORMAT
        self.model = model
        self.purchased = sp.csr_matrix(model.seen_ if purchased is None else purchased)
        self.neighbours = neighbours
        self.content = content
        self.label = label
        self.exclude = np.asarray(exclude, dtype=np.int64)
        items = model.interactions_.item_ids
        cat = catalogue.set_index("product_id")
        self.descriptions = cat["description"].reindex(items).fillna("").astype(str).to_numpy()
        self._users = {_key(u): i for i, u in enumerate(model.interactions_.user_ids.tolist())}
        self._items = {_key(u): i for i, u in enumerate(items.tolist())}
        self._names = np.where(self.descriptions != "", self.descriptions,
                               items.astype(str)).astype(object)  # reason text per item

    @property
    def item_ids(self) -> np.ndarray:
        return self.model.interactions_.item_ids

    def recommend(self, customer_id: str, n: int = 10, exclude_seen: bool = True,
                  history: list[str] | None = None) -> Recommendations:
        """Top-``n`` products for one customer with a reason each.

        Unknown customers are a cold start, not an error: with a ``history`` (product ids
        viewed or bought this session) and item text the content model ranks; otherwise the
        most popular products. ``source`` says which. Ids are normalised as ingestion does
        (:func:`~insightloop.storage.ids.normalize_id`): ``"17850.0"``, ``17850.0`` and
        ``" 17850 "`` are customer ``17850``.
        """
        cid = _key(customer_id)
        u = self._users.get(cid)
        if u is not None:
            idx, val = self.model.recommend_idx(np.array([u]), n, exclude_seen, self.exclude,
                                                self.purchased)
            bought, rows = self.purchased[[u]], self.model.seen_[[u]]
            source, label = "model", self.label
        else:
            rows = self._history_rows(history or [])
            bought = sp.csr_matrix(rows.shape, dtype=np.float32)
            if self.content is not None and rows.nnz:
                idx, val = self.content.recommend_history(rows, n, exclude_seen, self.exclude)
                source, label = "cold_start:content", "content"
            else:
                pop = self.model.popularity_[None, :].copy()
                mask_rows(pop, rows if exclude_seen else None, self.exclude)
                idx, val = top_k(pop, n)
                source, label = "cold_start:popularity", "popularity"
        reasons = self.reasons(bought, rows, idx, source)
        items: list[RecommendedItem] = [
                 {"product_id": str(self.item_ids[i]), "description": self.descriptions[i],
                  "score": float(s), "reason": r}
                 for i, s, r in zip(idx[0], val[0], reasons[0], strict=True) if i >= 0]
        return {"customer_id": cid, "model": label, "source": source, "items": items}

    def recommend_many(self, customer_ids: Sequence[object], n: int = 10,
                       exclude_seen: bool = True) -> pd.DataFrame:
        """Top-``n`` products for many customers at once, one row per recommendation.

        Known customers are ranked in one call of the model; unknown ones get the popular
        products (no session history here). Ids are normalised like :meth:`recommend`.

        Returns
        -------
        pandas.DataFrame
            ``customer_id, rank, product_id, description, score, reason, source``,
            customers in the order given.
        """
        keys = np.array([_key(c) for c in customer_ids], dtype=object)
        rows = pd.Series(keys, dtype=object).map(self._users)
        known = rows.notna().to_numpy()
        idx = np.full((len(keys), n), -1, dtype=np.int64)
        val = np.zeros((len(keys), n), dtype=np.float64)
        reasons = np.empty((len(keys), n), dtype=object)
        source = np.where(known, "model", "cold_start:popularity").astype(object)
        if known.any():
            users = rows[known].astype(np.int64).to_numpy()
            k_idx, k_val = self.model.recommend_idx(users, n, exclude_seen, self.exclude,
                                                    self.purchased)
            idx[known, :k_idx.shape[1]], val[known, :k_idx.shape[1]] = k_idx, k_val
            reasons[known, :k_idx.shape[1]] = self.reasons(
                self.purchased[users], self.model.seen_[users], k_idx, "model")
        if (~known).any():
            pop = self.model.popularity_[None, :].copy()
            mask_rows(pop, None, self.exclude)
            p_idx, p_val = top_k(pop, n)
            empty = sp.csr_matrix((1, len(self.item_ids)), dtype=np.float32)
            p_why = self.reasons(empty, empty, p_idx, "cold_start:popularity")
            width = p_idx.shape[1]
            idx[~known, :width], val[~known, :width] = p_idx[0], p_val[0]
            reasons[~known, :width] = p_why[0]
        ok = (idx >= 0).ravel()
        flat = idx.ravel()[ok]
        return pd.DataFrame({
            "customer_id": np.repeat(keys, n)[ok],
            "rank": np.tile(np.arange(1, n + 1, dtype=np.int32), len(keys))[ok],
            "product_id": self.item_ids[flat].astype(str),
            "description": self.descriptions[flat],
            "score": val.ravel()[ok],
            "reason": reasons.ravel()[ok],
            "source": np.repeat(source, n)[ok],
        })

    def reasons(self, bought: sp.csr_matrix, seen: sp.csr_matrix, idx: np.ndarray,
                source: str) -> np.ndarray:
        """Reason text per recommended cell from item neighbours: "because you bought X"
        (the most similar purchase), else "because you looked at X" (any interaction)."""
        fallback = {"model": "popular with customers who buy what you buy",
                    "cold_start:content": "similar to products you looked at",
                    "cold_start:popularity": "popular with all customers (new customer)"}
        out = np.full(idx.shape, fallback.get(source, source), dtype=object)
        names = self._names
        looked, _ = explain(seen, idx, self.neighbours.w_)
        out[looked >= 0] = "because you looked at " + names[looked[looked >= 0]]
        best, _ = explain(bought, idx, self.neighbours.w_)
        out[best >= 0] = "because you bought " + names[best[best >= 0]]
        return out

    def similar_items(self, product_id: str, n: int = 10) -> SimilarItems:
        """Products most similar to ``product_id`` (co-purchase neighbours, then text).

        Raises
        ------
        NotFoundError
            The product is not in the catalogue the model was built on.
        """
        pid = _key(product_id)
        i = self._items.get(pid)
        if i is None:
            raise NotFoundError(f"unknown product {pid!r}: not among the {len(self._items):,} "
                                "products the recommender was built on")
        sims = np.asarray(self.neighbours.item_similarity(np.array([i])), dtype=np.float64)
        if self.content is not None:  # text similarity breaks ties / fills cold items
            sims = sims + 1e-3 * np.maximum(self.content.item_similarity(np.array([i])), 0.0)
        sims[0, i] = -np.inf
        idx, val = top_k(sims, n)
        items: list[SimilarItem] = [
                 {"product_id": str(self.item_ids[j]), "description": self.descriptions[j],
                  "score": float(s)} for j, s in zip(idx[0], val[0], strict=True)
                 if j >= 0 and s > 0]
        return {"product_id": pid, "description": self.descriptions[i], "items": items}

    def _history_rows(self, history: list[str]) -> sp.csr_matrix:
        keys = [_key(h) for h in history]
        cols = np.array(sorted({self._items[k] for k in keys if k in self._items}),
                        dtype=np.int64)
        return sp.csr_matrix((np.ones(len(cols), dtype=np.float32),
                              (np.zeros(len(cols), dtype=np.int64), cols)),
                             shape=(1, len(self.item_ids)))


def _key(value: object) -> str:
    """An id as the warehouse stores it: text, normalised like ingestion (a float id read by
    pandas, ``17850.0``, is ``"17850"``)."""
    return normalize_id(str(value))


_LOADED: dict[tuple[str, int], RecommendationServer] = {}
_REBUILD = "run `insightloop recommend build`"


def load_recommender(ctx: Context) -> RecommendationServer:
    """The latest registered recommendation server (sha256-checked on first load).

    Kept in memory per (artifact folder, modification time): later calls in the same
    process (an API worker) return the loaded server until a new build registers another.

    Raises
    ------
    NotFoundError
        No recommender has been built.
    """
    try:
        folder = ctx.models.folder(MODEL_NAME)
    except NotFoundError:
        raise NotFoundError("no recommendation model: run `insightloop recommend build`") from None
    key = (str(folder.resolve()), (folder / ARTIFACT).stat().st_mtime_ns
           if (folder / ARTIFACT).exists() else 0)
    if key in _LOADED:
        return _LOADED[key]
    try:
        server, _meta = ctx.models.load(MODEL_NAME)
    except (AttributeError, ImportError) as exc:  # pickled by a release whose classes moved
        raise NotFoundError(f"the recommendation model at {folder} was saved by another "
                            f"insightloop release ({exc}); {_REBUILD}") from None
    if not isinstance(server, RecommendationServer):
        raise NotFoundError(f"no recommendation model: {_REBUILD}")
    if getattr(server, "format", None) != RecommendationServer.FORMAT:
        raise NotFoundError(f"the recommendation model at {folder} has an older layout "
                            f"(format {getattr(server, 'format', 1)}, this release reads "
                            f"{RecommendationServer.FORMAT}); {_REBUILD}")
    _LOADED.clear()
    _LOADED[key] = server
    return server


def similar_items(ctx: Context, product_id: str, n: int = 10) -> SimilarItems:
    """Products most similar to ``product_id`` by the registered server (NotFoundError for an
    unknown product)."""
    return load_recommender(ctx).similar_items(product_id, n)


def show_recommendations(ctx: Context, customer_id: str, n: int = 10,
                         exclude_seen: bool = True) -> Recommendations:
    """One customer's recommendations from the registered server (cold start included)."""
    return load_recommender(ctx).recommend(customer_id, n, exclude_seen=exclude_seen)
