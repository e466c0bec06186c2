"""The contract every recommender follows, and the popularity baseline.

``fit(interactions)``; ``recommend(user_ids, n, exclude_seen=True) -> (item_ids, scores)``;
``similar_items(item_ids, n) -> (item_ids, scores)``. Subclasses implement ``_fit`` and
``_score(user_rows)`` (dense scores for a block of users); ranking, seen-item exclusion,
tie-breaking and batching live here once (:mod:`insightloop.models.recommend.topk`).

Users unknown to the model get the most popular items from ``recommend``;
``recommend_history`` ranks for a new user from an interaction row (item-based models fold
it in, factor models average the item factors or, for ALS, solve for the user factors).
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from insightloop.errors import ConfigError, ModelFitError, NotFittedError, NotFoundError
from insightloop.features.interactions import Interactions
from insightloop.models.recommend.topk import mask_rows, top_k

BATCH_CELLS = 8_000_000  # users x items cells scored at once (~64 MB of float64)


#: Every concrete recommender by its ``name`` (filled by ``Recommender.__init_subclass__``).
REGISTERED: dict[str, type[Recommender]] = {}


class Recommender(BaseEstimator):  # type: ignore[misc]
    """Base class: ranking, exclusion and id mapping shared by all models.

    scikit-learn's estimator contract: ``__init__`` only stores its (keyword) parameters,
    :meth:`_validate` checks them (called by :func:`make_recommender` and by ``fit``),
    fitted state lives in attributes ending with ``_``.
    """

    name: ClassVar[str] = "base"
    #: Constructor arguments that are inputs or resources, not hyper-parameters (left out of
    #: :attr:`params`, the reported model parameters).
    _not_reported: ClassVar[tuple[str, ...]] = ("item_vectors", "threads")
    #: Attributes saved as ``None`` in an artifact: the item vectors live on, aligned, in
    #: the fitted ``e_`` (see :mod:`insightloop.models.artifacts`).
    _artifact_transient: ClassVar[tuple[str, ...]] = ("item_vectors",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            REGISTERED[cls.name] = cls

    @property
    def params(self) -> dict[str, Any]:
        """The hyper-parameters (``get_params`` less inputs such as ``item_vectors``)."""
        values = self.get_params(deep=False)
        order = inspect.signature(type(self).__init__).parameters  # constructor order
        return {k: values[k] for k in order if k in values and k not in self._not_reported}

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def _validate(self) -> None:
        """Raise :class:`ConfigError` for a bad parameter value (none by default)."""

    # -- fitting -------------------------------------------------------------------
    def fit(self, interactions: Interactions) -> Self:
        """Fit on users x items weights; returns self."""
        self._validate()
        if interactions.nnz == 0:
            raise ModelFitError("no interactions to fit a recommender on")
        self.interactions_ = interactions
        x = interactions.matrix.tocsr().astype(np.float32)
        self.seen_ = x
        binary = x.copy()
        binary.data = np.ones_like(binary.data)
        self.binary_ = binary
        self.popularity_ = np.asarray(binary.sum(axis=0)).ravel().astype(np.float64)
        self._fit(x)
        return self

    def _fit(self, x: sp.csr_matrix) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _score(self, rows: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        """Dense scores (len(rows) x items) for users with history ``rows``.

        ``user_idx`` are the training-row indices when the users are known (factor models
        use them), ``None`` for folded-in histories.
        """
        raise NotImplementedError  # pragma: no cover

    def _check(self) -> None:
        if not hasattr(self, "interactions_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() first")

    @property
    def item_ids(self) -> np.ndarray:
        self._check()
        return self.interactions_.item_ids

    # -- ranking -------------------------------------------------------------------
    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        """Dense scores of known users (training-row indices)."""
        self._check()
        idx = np.asarray(user_idx, dtype=np.int64)
        return np.asarray(self._score(self.seen_[idx], idx), dtype=np.float64)

    def recommend_idx(self, user_idx: np.ndarray, n: int = 10, exclude_seen: bool = True,
                      exclude_items: np.ndarray | None = None,
                      exclude_matrix: sp.csr_matrix | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` item indices and scores for known users, in memory-bounded batches.

        ``exclude_matrix`` (users x items, same rows as the training data) replaces the
        training interactions as the per-user exclusion when ``exclude_seen`` is true (e.g.
        purchases only, so viewed products stay recommendable).
        """
        self._check()
        idx = np.asarray(user_idx, dtype=np.int64)
        n_items = self.interactions_.n_items
        out_i = np.full((len(idx), min(n, n_items)), -1, dtype=np.int64)
        out_s = np.full(out_i.shape, np.nan)
        step = max(1, BATCH_CELLS // max(n_items, 1))
        for start in range(0, len(idx), step):
            block = idx[start:start + step]
            scores = self.score_users(block)
            excl = self.seen_ if exclude_matrix is None else exclude_matrix
            mask_rows(scores, excl[block] if exclude_seen else None, exclude_items)
            out_i[start:start + step], out_s[start:start + step] = top_k(scores, n)
        return out_i, out_s

    def recommend_history(self, history: sp.csr_matrix, n: int = 10, exclude_seen: bool = True,
                          exclude_items: np.ndarray | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` for users given only their interaction rows (fold-in / cold start)."""
        self._check()
        hist = sp.csr_matrix(history, dtype=np.float32)
        scores = np.asarray(self._score(hist, None), dtype=np.float64)
        mask_rows(scores, hist if exclude_seen else None, exclude_items)
        return top_k(scores, n)

    def recommend(self, user_ids: Any, n: int = 10, exclude_seen: bool = True,
                  exclude_items: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Item ids (object array, ``None`` pads) and scores (``nan`` pads) per user.

        Users unknown to the model get the most popular items.
        """
        self._check()
        users = pd.Index(self.interactions_.user_ids).get_indexer(
            pd.Index([str(u) for u in np.atleast_1d(user_ids)]))
        excl = self._item_positions(exclude_items, strict=False)
        known = users >= 0
        idx = np.full((len(users), min(n, self.interactions_.n_items)), -1, dtype=np.int64)
        val = np.full(idx.shape, np.nan)
        if known.any():
            idx[known], val[known] = self.recommend_idx(users[known], n, exclude_seen, excl)
        if (~known).any():
            pop = np.tile(self.popularity_, (int((~known).sum()), 1))
            mask_rows(pop, None, excl)
            idx[~known], val[~known] = top_k(pop, n)
        return self._ids(idx), val

    # -- item similarity -------------------------------------------------------------
    def item_similarity(self, item_idx: np.ndarray) -> np.ndarray:
        """Dense similarity rows of the given items (default: cosine of co-occurrence)."""
        self._check()
        return cosine_rows(self.binary_, np.asarray(item_idx, dtype=np.int64))

    def similar_items(self, item_ids: Any, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` items most similar to each given item (itself excluded).

        Raises
        ------
        NotFoundError
            An item id is not in the training data.
        """
        pos = self._item_positions(item_ids, strict=True)
        assert pos is not None
        sims = np.asarray(self.item_similarity(pos), dtype=np.float64)
        sims[np.arange(len(pos)), pos] = -np.inf
        idx, val = top_k(sims, n)
        return self._ids(idx), val

    # -- helpers -------------------------------------------------------------------
    def _ids(self, idx: np.ndarray) -> np.ndarray:
        ids = np.empty(idx.shape, dtype=object)
        ok = idx >= 0
        ids[ok] = self.interactions_.item_ids[idx[ok]]
        return ids

    def _item_positions(self, item_ids: Any, strict: bool) -> np.ndarray | None:
        if item_ids is None:
            return None
        wanted = [str(i) for i in np.atleast_1d(np.asarray(item_ids, dtype=object))]
        pos = pd.Index(self.interactions_.item_ids).get_indexer(pd.Index(wanted))
        if strict and (pos < 0).any():
            missing = [w for w, p in zip(wanted, pos, strict=True) if p < 0][:5]
            raise NotFoundError(f"unknown item id(s) {missing}: not in the training data")
        return pos[pos >= 0]


class Popularity(Recommender):
    """Most-interacted items (distinct users), the same list for everyone."""

    name = "popularity"

    def _fit(self, x: sp.csr_matrix) -> None:
        pass

    def _score(self, rows: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        return np.tile(self.popularity_, (rows.shape[0], 1))


def cosine_rows(binary: sp.csr_matrix, item_idx: np.ndarray) -> np.ndarray:
    """Cosine similarity of the given item columns with every item (dense rows)."""
    xt = binary.T.tocsr()
    co = (xt[item_idx] @ binary).toarray().astype(np.float64)
    norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel().astype(np.float64))
    denom = norms[item_idx][:, None] * norms[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, co / denom, 0.0)


def check_params(name: str, params: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(f"model {name!r} has no parameter(s) {unknown}; "
                          f"parameters: {sorted(allowed)}")


def check_choice(label: str, value: Any, choices: tuple[str, ...]) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{label} must be one of {list(choices)}, got {value!r}")


def make_recommender(name: str, **params: Any) -> Recommender:
    """A model by name (``popularity``, ``itemknn``, ``rp3beta``, ``sar``, ``ease``, ``als``,
    ``bpr``, ``content``, ``hybrid``), its parameters checked."""
    if name not in REGISTERED:
        raise ConfigError(f"unknown recommender {name!r}; choose one of "
                          f"{sorted(REGISTERED)} or 'auto'")
    cls = REGISTERED[name]
    allowed = set(cls._get_param_names()) - {"threads"}
    check_params(name, params, allowed)
    model = cls(**params)
    model._validate()
    return model
