"""Matrix factorisation through the `implicit` library: ALS and BPR (CPU).

Only the factors come from `implicit`; ranking, seen-item exclusion and ties use the
shared top-k routine, so results are consistent with every other model. New users are
folded in with ``recalculate_user`` (ALS) or scored from the mean of their items' factors.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from insightloop.models.recommend.base import Recommender


class _Factors(Recommender):
    threads: int = 1
    #: The `implicit` model is a cache rebuilt from the factors; never saved.
    _artifact_transient: ClassVar[tuple[str, ...]] = ("item_vectors", "_implicit")

    def _make(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _prepare(self, x: sp.csr_matrix) -> sp.csr_matrix:
        return x

    def _fit(self, x: sp.csr_matrix) -> None:
        with threadpool_limits(1, "blas"):
            model = self._make()
            model.fit(self._prepare(x), show_progress=False)
        self._implicit = model
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)

    def _score(self, rows: sp.csr_matrix, user_idx: np.ndarray | None) -> np.ndarray:
        users = self.user_factors_[user_idx] if user_idx is not None else self._fold_in(rows)
        return np.asarray(users @ self.item_factors_.T, dtype=np.float64)

    def _fold_in(self, rows: sp.csr_matrix) -> np.ndarray:
        hist = rows.copy()
        hist.data = np.ones_like(hist.data)
        counts = np.maximum(np.asarray(hist.sum(axis=1)), 1.0)
        return np.asarray(hist @ self.item_factors_ / counts, dtype=np.float32)

    def item_similarity(self, item_idx: np.ndarray) -> np.ndarray:
        f = self.item_factors_
        norms = np.linalg.norm(f, axis=1)
        norms[norms == 0] = 1.0
        unit = f / norms[:, None]
        return np.asarray(unit[np.asarray(item_idx)] @ unit.T, dtype=np.float64)


class ALS(_Factors):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) with confidence ``1 + alpha * w``."""

    name = "als"

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 2.0,
                 iterations: int = 15, seed: int = 0, threads: int = 1) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed
        self.threads = threads

    def _make(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares  # lazy: implicit, ALS only

        return AlternatingLeastSquares(
            factors=int(self.factors), regularization=float(self.regularization),
            alpha=float(self.alpha), iterations=int(self.iterations),
            calculate_training_loss=False, random_state=int(self.seed),
            num_threads=self.threads)

    def _fold_in(self, rows: sp.csr_matrix) -> np.ndarray:
        model = getattr(self, "_implicit", None)
        if model is None:  # loaded from its arrays: rebuild the solver around the factors
            model = self._make()
            model.item_factors = self.item_factors_
            model.user_factors = self.user_factors_
            self._implicit = model
        return np.asarray(model.recalculate_user(
            np.arange(rows.shape[0]), sp.csr_matrix(rows, dtype=np.float32)), dtype=np.float32
        ).reshape(rows.shape[0], -1)


class BPR(_Factors):
    """Bayesian personalised ranking (Rendle et al. 2009), SGD with sampled negatives."""

    name = "bpr"

    def __init__(self, factors: int = 100, learning_rate: float = 0.01,
                 regularization: float = 0.01, iterations: int = 100, seed: int = 0,
                 threads: int = 1) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.seed = seed
        self.threads = threads

    def _make(self) -> Any:
        from implicit.cpu.bpr import BayesianPersonalizedRanking  # lazy: implicit, BPR only

        return BayesianPersonalizedRanking(
            factors=int(self.factors), learning_rate=float(self.learning_rate),
            regularization=float(self.regularization), iterations=int(self.iterations),
            random_state=int(self.seed), num_threads=self.threads)

    def _prepare(self, x: sp.csr_matrix) -> sp.csr_matrix:
        binary = x.copy()
        binary.data = np.ones_like(binary.data)
        return binary
