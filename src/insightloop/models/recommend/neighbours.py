"""Item-based models: item-item neighbourhood (SAR-like) and RP3beta (graph random walk).

Both build a sparse item x item weight matrix ``W`` (top ``neighbours`` per item, computed
in blocks of items so memory stays bounded) and score a user as ``history @ W``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from insightloop.errors import ConfigError
from insightloop.models.recommend.base import Recommender, check_choice

BLOCK_CELLS = 20_000_000


def blockwise_topk(n_items: int, block_fn: Callable[[np.ndarray], np.ndarray], k: int,
                   exclude_diagonal: bool = True) -> sp.csr_matrix:
    """Sparse matrix keeping the ``k`` largest positive values of each row of a dense
    similarity computed block by block (``block_fn(rows) -> len(rows) x n_items``)."""
    k = max(1, min(k, n_items))
    step = max(1, BLOCK_CELLS // max(n_items, 1))
    rows_out, cols_out, vals_out = [], [], []
    for start in range(0, n_items, step):
        rows = np.arange(start, min(n_items, start + step))
        block = np.asarray(block_fn(rows), dtype=np.float64)
        if exclude_diagonal:
            block[np.arange(len(rows)), rows] = 0.0
        if k < n_items:
            part = np.argpartition(-block, k - 1, axis=1)[:, :k]
        else:
            part = np.tile(np.arange(n_items), (len(rows), 1))
        vals = np.take_along_axis(block, part, axis=1)
        keep = vals > 0
        rows_out.append(np.repeat(rows, k)[keep.ravel()])
        cols_out.append(part[keep])
        vals_out.append(vals[keep])
    return sp.csr_matrix(
        (np.concatenate(vals_out).astype(np.float32),
         (np.concatenate(rows_out), np.concatenate(cols_out))), shape=(n_items, n_items))


def cooccurrence_similarity(co: np.ndarray, count_rows: np.ndarray, count: np.ndarray,
                            kind: str, shrink: float = 0.0) -> np.ndarray:
    """Cosine, Jaccard or lift from a block of co-occurrence counts and item counts."""
    if kind == "cosine":
        denom = np.sqrt(count_rows)[:, None] * np.sqrt(count)[None, :]
    elif kind == "jaccard":
        denom = count_rows[:, None] + count[None, :] - co
    else:
        denom = count_rows[:, None] * count[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, co / (denom + shrink), 0.0)


class ItemKNN(Recommender):
    """Item-item neighbourhood: cosine, Jaccard or lift on co-occurrence (like SAR).

    Parameters
    ----------
    similarity : {"cosine", "jaccard", "lift"}
    neighbours : int
        Neighbours kept per item.
    shrink : float
        Added to the denominator (damps similarities resting on few users).
    """

    name = "itemknn"
    _SIMS: tuple[str, ...] = ("cosine", "jaccard", "lift")

    def __init__(self, similarity: str = "cosine", neighbours: int = 200,
                 shrink: float = 0.0) -> None:
        self.similarity = similarity
        self.neighbours = neighbours
        self.shrink = shrink

    def _validate(self) -> None:
        check_choice("similarity", self.similarity, self._SIMS)

    def _keep(self) -> int:
        return int(self.neighbours)

    keep_diagonal: ClassVar[bool] = False

    def _fit(self, x: sp.csr_matrix) -> None:
        b = self.binary_
        xt = b.T.tocsr()
        self.w_ = blockwise_topk(b.shape[1], lambda rows: self._block(xt, b, rows),
                                 self._keep(), exclude_diagonal=not self.keep_diagonal)

    def _block(self, xt: sp.csr_matrix, b: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        co = (xt[rows] @ b).toarray().astype(np.float64)
        count = self.popularity_
        return cooccurrence_similarity(co, count[rows], count, self.similarity, self.shrink)

    def _score(self, rows: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        return np.asarray((rows @ self.w_).toarray())

    def item_similarity(self, item_idx: np.ndarray) -> np.ndarray:
        return np.asarray(self.w_[np.asarray(item_idx)].toarray())


class RP3Beta(Recommender):
    """RP3beta (Paudel et al. 2017; Dacrema et al. 2019): 3-step random walk item->user->item
    with transition probabilities raised to ``alpha``, divided by target popularity^``beta``.
    """

    name = "rp3beta"

    def __init__(self, alpha: float = 1.0, beta: float = 0.3, neighbours: int = 200) -> None:
        self.alpha = alpha
        self.beta = beta
        self.neighbours = neighbours

    def _fit(self, x: sp.csr_matrix) -> None:
        b = self.binary_
        p_ui = _row_normalise(b)
        p_iu = _row_normalise(b.T.tocsr())
        alpha, beta = float(self.alpha), float(self.beta)
        if alpha != 1.0:
            p_ui.data **= alpha
            p_iu.data **= alpha
        with np.errstate(divide="ignore"):
            pen = np.where(self.popularity_ > 0, self.popularity_ ** -beta, 0.0)

        def block(rows: np.ndarray) -> np.ndarray:
            return (p_iu[rows] @ p_ui).toarray().astype(np.float64) * pen[None, :]

        w = blockwise_topk(b.shape[1], block, int(self.neighbours))
        self.w_ = _row_normalise(w)

    def _score(self, rows: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        hist = rows.copy()
        hist.data = np.ones_like(hist.data)
        return np.asarray((hist @ self.w_).toarray())

    def item_similarity(self, item_idx: np.ndarray) -> np.ndarray:
        return np.asarray(self.w_[np.asarray(item_idx)].toarray())


def _row_normalise(m: sp.csr_matrix) -> sp.csr_matrix:
    m = sp.csr_matrix(m, dtype=np.float32, copy=True)
    sums = np.asarray(m.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums, dtype=np.float64), where=sums > 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ m)


class SAR(ItemKNN):
    """Smart Adaptive Recommendations, as ``SARSingleNode`` in Microsoft Recommenders.

    Item similarity from the binary co-occurrence ``C = X'X`` (pairs seen by fewer than
    ``threshold`` users are zeroed): ``jaccard`` ``c_ij / (c_ii + c_jj - c_ij)``, ``lift``
    ``c_ij / (c_ii c_jj)``, ``cosine`` ``c_ij / sqrt(c_ii c_jj)`` or raw ``cooccurrence``;
    every pair is kept (no neighbour cut), the diagonal too. Scores are ``A @ S`` where the
    affinity ``A`` is the interaction weights as given: for Microsoft's setting pass
    ``rating * 0.5 ** (age_days / 30)`` summed per (user, item) as the weight (``--weight``
    plus ``--half-life-days 30``). Weights are float32: on data spanning many years measure ages
    from each user's latest time (same ranking) so old interactions do not underflow to 0
    (``benchmarks/recommend_quality.py`` does).
    """

    name = "sar"
    _SIMS = ("jaccard", "lift", "cosine", "cooccurrence")
    keep_diagonal = True

    def __init__(self, similarity: str = "jaccard", threshold: int = 1) -> None:
        self.similarity = similarity
        self.threshold = threshold

    def _validate(self) -> None:
        check_choice("similarity", self.similarity, self._SIMS)
        if int(self.threshold) < 1:
            raise ConfigError(f"threshold must be >= 1, got {self.threshold}")

    def _keep(self) -> int:
        return 2**62  # every pair kept

    def _block(self, xt: sp.csr_matrix, b: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        co = (xt[rows] @ b).toarray().astype(np.float64)
        co[co < int(self.threshold)] = 0.0
        if self.similarity == "cooccurrence":
            return co
        count = self.popularity_
        return cooccurrence_similarity(co, count[rows], count, self.similarity)

    def _score(self, rows: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        return np.asarray((sp.csr_matrix(rows, dtype=np.float64) @ self.w_).toarray())
