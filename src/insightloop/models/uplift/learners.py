"""Uplift meta-learners on LightGBM: two-model, class transformation, X-, R- and DR-learner.

Each estimates the conditional average treatment effect ``tau(x) = E[Y | x, T=k] -
E[Y | x, T=control]`` for every treatment arm ``k`` from a randomised (or at least
unconfounded, constant-propensity) test. The outcome is binary (conversion, visit: the
nuisance models are classifiers and ``tau`` a difference of probabilities) or continuous
(revenue, predicted CLV: regressions).

* :class:`TwoModelUplift` (T-learner): one model per arm, ``tau = mu_k(x) - mu_c(x)``;
* :class:`ClassTransformationUplift` (Jaskowski & Jaroszewicz 2012): binary outcomes
  classify ``Z = 1{y = t}`` (arms weighted to equal size) and ``tau = 2 P(Z=1|x) - 1``;
  continuous outcomes regress the transformed outcome ``y (t - e) / (e (1 - e))``;
* :class:`XLearnerUplift` (Kunzel et al. 2019): imputed effects ``y - mu_c(x)`` on the
  treated and ``mu_k(x) - y`` on the controls, one regression each, blended by the
  propensity ``e``: ``tau = e tau_c(x) + (1 - e) tau_k(x)``;
* :class:`RLearnerUplift` (Nie & Wager 2021): Robinson residuals with a 2-fold cross-fitted
  outcome model ``m(x)``, ``tau`` fitted to ``(y - m) / (t - e)`` with weights ``(t - e)^2``;
* :class:`DRLearnerUplift` (Kennedy 2020): the doubly robust pseudo-outcome
  ``mu_k - mu_c + t (y - mu_k) / e - (1 - t) (y - mu_c) / (1 - e)`` with cross-fitted
  ``mu``, regressed on ``x``;
* :class:`LinearUplift` (S-learner): one penalised logistic (ridge for a continuous outcome)
  regression on ``[D(x), t D(x), t]`` per arm, ``D`` the one-hot / standardised features.
  On Hillstrom's training half (5-fold cross-validation, docs/uplift.md) it ranked
  customers better than every LightGBM learner: uplift effects are small against the
  noise of the outcome, and a few interaction coefficients estimate them with less variance.

The propensity ``e`` of arm ``k`` is its share among the rows of ``k`` and the control
(constant: the test is randomised; :mod:`.balance` checks that). Several treatments at
once (channel x offer): each arm is fitted against the shared control, and
:meth:`predict` returns one column per arm of :attr:`treatments_`.

Memory: ``X`` is held as one float32 matrix; LightGBM datasets are built from numpy
(no pandas copy per learner) and freed after each fit; a subset copy is made only for
arms that do not cover every row; prediction runs in chunks of ``chunk_rows``. Fitted
boosters are LightGBM text models (saved by :mod:`insightloop.models.artifacts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression, Ridge

from insightloop.errors import ModelFitError, NotFittedError

__all__ = ["LEARNERS", "ClassTransformationUplift", "DRLearnerUplift", "LinearUplift",
           "RLearnerUplift", "TwoModelUplift", "UpliftLearner", "XLearnerUplift", "make_learner"]


class UpliftLearner(BaseEstimator):  # type: ignore[misc]
    """Shared parameters, arm handling, LightGBM training and chunked prediction.

    Parameters
    ----------
    control : int or str
        The treatment value of the control arm; every other value is a treatment.
    n_estimators, learning_rate, num_leaves, min_child_samples, reg_lambda
        LightGBM's rounds, shrinkage, leaves per tree, minimum rows per leaf (None: 5% of
        the rows a model is fitted on, between 20 and 1,000), L2 penalty. The defaults
        (small trees, large leaves) were chosen by Qini AUC on a validation third of
        Hillstrom's training half, where they beat 15-leaf trees for every learner:
        uplift effects are small against the noise of the outcome.
    categorical : sequence of int
        Columns of ``X`` holding category codes (non-negative integers).
    random_state : int
        Seed of LightGBM and of the cross-fitting folds.
    n_jobs : int
        LightGBM threads; 0 = OpenMP's default (``OMP_NUM_THREADS``).
    chunk_rows : int
        Rows predicted at a time.
    """

    name = "base"

    def __init__(self, control: Any = 0, n_estimators: int = 300,
                 learning_rate: float = 0.03, num_leaves: int = 4,
                 min_child_samples: int | None = None, reg_lambda: float = 1.0,
                 categorical: Sequence[int] = (), random_state: int = 0, n_jobs: int = 0,
                 chunk_rows: int = 1_000_000) -> None:
        self.control = control
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.categorical = categorical
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.chunk_rows = chunk_rows

    # -- fitting -----------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray, treatment: np.ndarray) -> UpliftLearner:
        """Fit ``tau`` for every treatment arm against the control."""
        A = _matrix(X)
        yy = np.asarray(y, dtype=np.float64).ravel()
        t = np.asarray(treatment).ravel()
        if not len(A) == len(yy) == len(t):
            raise ModelFitError(f"X, y and treatment differ in length: {len(A)}, {len(yy)}, "
                                f"{len(t)}")
        if not np.isfinite(yy).all():
            raise ModelFitError("the outcome has missing or infinite values")
        arms = [a for a in np.unique(t).tolist() if a != self.control]
        is_control = t == self.control
        if not is_control.any():
            raise ModelFitError(f"no row has the control value {self.control!r}")
        if not arms:
            raise ModelFitError(f"every row has the control value {self.control!r}; "
                                "uplift needs treated rows")
        self.binary_ = bool(np.isin(yy, (0.0, 1.0)).all())
        self.treatments_ = arms
        self.n_features_in_ = A.shape[1]
        self.propensity_ = {}
        self.boosters_ = {}
        self._control_model: Any = None
        for i, arm in enumerate(arms):
            rows = is_control | (t == arm)
            if rows.all():
                Xk, yk, wk = A, yy, (t == arm)
            else:
                Xk, yk, wk = A[rows], yy[rows], (t[rows] == arm)
            if wk.sum() < 2 or (~wk).sum() < 2:
                raise ModelFitError(f"treatment {arm!r} or its control has fewer than 2 rows")
            e = float(wk.mean())
            self.propensity_[str(arm)] = e
            for role, booster in self._fit_arm(Xk, yk, wk, e).items():
                self.boosters_[f"{i}:{role}"] = booster
        del self._control_model
        return self

    def _fit_arm(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, e: float
                 ) -> dict[str, Any]:
        raise NotImplementedError

    def _params(self, objective: str, rows: int) -> dict[str, Any]:
        leaf = self.min_child_samples
        if leaf is None:
            leaf = int(min(1000, max(20, rows // 20)))
        return {"objective": objective, "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "min_data_in_leaf": leaf,
                "lambda_l2": self.reg_lambda, "verbose": -1, "num_threads": self.n_jobs,
                "seed": self.random_state, "deterministic": True, "force_row_wise": True}

    def _train(self, X: np.ndarray, y: np.ndarray, objective: str,
               weight: np.ndarray | None = None) -> Any:
        # lazy: LightGBM (OpenMP) only when an uplift model is fitted
        import lightgbm as lgb

        ds = lgb.Dataset(X, label=y.astype(np.float32), weight=weight,
                         categorical_feature=list(self.categorical) or "auto",
                         free_raw_data=True)
        return lgb.train(self._params(objective, len(X)), ds,
                         num_boost_round=self.n_estimators)

    def _outcome_model(self, X: np.ndarray, y: np.ndarray) -> Any:
        return self._train(X, y, "binary" if self.binary_ else "regression")

    def _cross_fit(self, X: np.ndarray, y: np.ndarray, rows: np.ndarray, folds: np.ndarray
                   ) -> np.ndarray:
        """Out-of-fold predictions for every row of ``X`` of an outcome model fitted on the
        ``rows`` of the other fold (2 folds)."""
        out = np.empty(len(X))
        for f in (0, 1):
            booster = self._outcome_model(X[rows & (folds != f)], y[rows & (folds != f)])
            out[folds == f] = _predict_chunks(booster, X[folds == f], self.chunk_rows)
        return out

    def _folds(self, n: int) -> np.ndarray:
        return np.random.default_rng(self.random_state).integers(0, 2, n)

    # -- prediction --------------------------------------------------------------------
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted uplift: shape ``(n,)`` with one treatment arm, ``(n, arms)`` with
        several (columns in the order of :attr:`treatments_`)."""
        if not hasattr(self, "boosters_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit first")
        A = _matrix(X)
        if A.shape[1] != self.n_features_in_:
            raise ModelFitError(f"X has {A.shape[1]} columns; the model was fitted on "
                                f"{self.n_features_in_}")
        out = np.empty((len(A), len(self.treatments_)))
        for start in range(0, len(A), self.chunk_rows):
            part = A[start:start + self.chunk_rows]
            for i, arm in enumerate(self.treatments_):
                out[start:start + len(part), i] = self._predict_arm(
                    part, i, self.propensity_[str(arm)])
        return out[:, 0] if out.shape[1] == 1 else out

    def _predict_arm(self, X: np.ndarray, i: int, e: float) -> np.ndarray:
        raise NotImplementedError

    def _booster(self, i: int, role: str) -> Any:
        return self.boosters_[f"{i}:{role}"]


class TwoModelUplift(UpliftLearner):
    """Two-model (T-learner) uplift: ``mu_k(x) - mu_c(x)``, the control model shared."""

    name = "two_model"

    def _fit_arm(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, e: float
                 ) -> dict[str, Any]:
        if self._control_model is None:
            self._control_model = self._outcome_model(X[~w], y[~w])
        return {"treated": self._outcome_model(X[w], y[w]), "control": self._control_model}

    def _predict_arm(self, X: np.ndarray, i: int, e: float) -> np.ndarray:
        return np.asarray(self._booster(i, "treated").predict(X)
                          - self._booster(i, "control").predict(X))


class ClassTransformationUplift(UpliftLearner):
    """Class transformation (binary outcomes) or transformed outcome (continuous)."""

    name = "class_transformation"

    def _fit_arm(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, e: float
                 ) -> dict[str, Any]:
        if self.binary_:
            z = (y == w).astype(np.float64)
            weight = np.where(w, 0.5 / e, 0.5 / (1.0 - e))
            return {"tau": self._train(X, z, "binary", weight=weight)}
        z = y * (w - e) / (e * (1.0 - e))
        return {"tau": self._train(X, z, "regression")}

    def _predict_arm(self, X: np.ndarray, i: int, e: float) -> np.ndarray:
        p = np.asarray(self._booster(i, "tau").predict(X))
        return 2.0 * p - 1.0 if self.binary_ else p


class XLearnerUplift(UpliftLearner):
    """X-learner: imputed treatment effects on each arm, blended by the propensity."""

    name = "x"

    def _fit_arm(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, e: float
                 ) -> dict[str, Any]:
        if self._control_model is None:
            self._control_model = self._outcome_model(X[~w], y[~w])
        mu_t = self._outcome_model(X[w], y[w])
        Xt, Xc = X[w], X[~w]
        d_t = y[w] - _predict_chunks(self._control_model, Xt, self.chunk_rows)
        d_c = _predict_chunks(mu_t, Xc, self.chunk_rows) - y[~w]
        return {"tau_treated": self._train(Xt, d_t, "regression"),
                "tau_control": self._train(Xc, d_c, "regression")}

    def _predict_arm(self, X: np.ndarray, i: int, e: float) -> np.ndarray:
        return np.asarray(e * self._booster(i, "tau_control").predict(X)
                          + (1.0 - e) * self._booster(i, "tau_treated").predict(X))


class RLearnerUplift(UpliftLearner):
    """R-learner: Robinson residuals, cross-fitted outcome model, constant propensity."""

    name = "r"

    def _fit_arm(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, e: float
                 ) -> dict[str, Any]:
        everyone = np.ones(len(X), dtype=bool)
        m = self._cross_fit(X, y, everyone, self._folds(len(X)))
        resid_w = w - e
        return {"tau": self._train(X, (y - m) / resid_w, "regression",
                                   weight=resid_w ** 2)}

    def _predict_arm(self, X: np.ndarray, i: int, e: float) -> np.ndarray:
        return np.asarray(self._booster(i, "tau").predict(X))


class DRLearnerUplift(UpliftLearner):
    """DR-learner: the doubly robust pseudo-outcome with cross-fitted arm models."""

    name = "dr"

    def _fit_arm(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, e: float
                 ) -> dict[str, Any]:
        folds = self._folds(len(X))
        mu_t, mu_c = self._cross_fit(X, y, w, folds), self._cross_fit(X, y, ~w, folds)
        phi = mu_t - mu_c + np.where(w, (y - mu_t) / e, -(y - mu_c) / (1.0 - e))
        return {"tau": self._train(X, phi, "regression")}

    def _predict_arm(self, X: np.ndarray, i: int, e: float) -> np.ndarray:
        return np.asarray(self._booster(i, "tau").predict(X))


class LinearUplift(UpliftLearner):
    """S-learner with treatment interactions on a penalised linear model.

    One model per treatment arm on the rows of that arm and the control, with the design
    ``[D(x), w D(x), w]`` (``w = 1`` for the treated): a penalised logistic regression for
    a binary outcome, a ridge regression for a continuous one; ``tau(x)`` is its
    prediction with ``w = 1`` minus that with ``w = 0``. ``D(x)``: categorical columns
    one-hot (the first level seen in ``fit`` is the reference, unseen levels all-zero),
    numeric columns standardised, non-negative heavy-tailed ones (skewness > 1, e.g. past
    spend) through ``log1p`` first; its statistics come from the fitting rows. The fitted
    state is plain arrays (coefficients, design statistics).

    Parameters
    ----------
    control : int or str
        The treatment value of the control arm; every other value is a treatment.
    C : float
        Inverse penalty strength: scikit-learn's ``LogisticRegression(C)`` for a binary
        outcome, ``Ridge(alpha=1 / C)`` for a continuous one.
    categorical : sequence of int
        Columns of ``X`` holding category codes: one-hot encoded.
    max_iter : int
        Iterations of the logistic solver (lbfgs).
    random_state, n_jobs, chunk_rows
        As the other learners (the solver is deterministic; ``n_jobs`` is unused).
    """

    name = "linear"

    def __init__(self, control: Any = 0, C: float = 1.0, categorical: Sequence[int] = (),
                 max_iter: int = 1000, random_state: int = 0, n_jobs: int = 0,
                 chunk_rows: int = 1_000_000) -> None:
        self.control = control
        self.C = C
        self.categorical = categorical
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.chunk_rows = chunk_rows

    def fit(self, X: np.ndarray, y: np.ndarray, treatment: np.ndarray) -> LinearUplift:
        """Fit the design's statistics on all rows, then one model per treatment arm."""
        if not self.C > 0:
            raise ModelFitError(f"C must be > 0, got {self.C}")
        A = _matrix(X)
        cats = set(int(c) for c in self.categorical)
        levels: list[np.ndarray] = []
        log: list[bool] = []
        center: list[float] = []
        scale: list[float] = []
        for j in range(A.shape[1]):
            col = A[:, j].astype(np.float64)
            if j in cats:
                levels.append(np.unique(col[np.isfinite(col)])[1:])
                log.append(False)
                center.append(0.0)
                scale.append(1.0)
                continue
            levels.append(np.empty(0))
            finite = col[np.isfinite(col)]
            heavy = bool(finite.size > 2 and finite.min() >= 0 and _skewness(finite) > 1.0)
            v = np.log1p(finite) if heavy else finite
            log.append(heavy)
            center.append(float(v.mean()) if v.size else 0.0)
            sd = float(v.std()) if v.size else 0.0
            scale.append(sd if sd > 0 else 1.0)
        self.levels_ = levels
        self.log_ = np.array(log, dtype=bool)
        self.center_ = np.array(center)
        self.scale_ = np.array(scale)
        super().fit(A, y, treatment)
        return self

    def design(self, X: np.ndarray) -> np.ndarray:
        """``D(x)``: one-hot categories and standardised numbers (missing values -> 0)."""
        A = _matrix(X)
        cats = set(int(c) for c in self.categorical)
        parts = []
        for j, lv in enumerate(self.levels_):
            col = A[:, j].astype(np.float64)
            if j in cats:
                parts.append((col[:, None] == lv[None, :]).astype(np.float64))
                continue
            if self.log_[j]:
                col = np.log1p(np.maximum(col, 0.0))
            z = (col - self.center_[j]) / self.scale_[j]
            parts.append(np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)[:, None])
        return np.hstack(parts) if parts else np.empty((len(A), 0))

    def _fit_arm(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, e: float
                 ) -> dict[str, Any]:
        D = self.design(X)
        wf = w.astype(np.float64)
        Z = np.hstack([D, D * wf[:, None], wf[:, None]])
        model = (LogisticRegression(C=self.C, max_iter=self.max_iter) if self.binary_
                 else Ridge(alpha=1.0 / self.C)).fit(Z, y)
        coef = np.asarray(model.coef_, dtype=np.float64).ravel()
        return {"coef": coef, "intercept": np.array([float(np.ravel(model.intercept_)[0])])}

    def _predict_arm(self, X: np.ndarray, i: int, e: float) -> np.ndarray:
        D = self.design(X)
        coef, b = self._booster(i, "coef"), float(self._booster(i, "intercept")[0])
        p = D.shape[1]
        base = b + D @ coef[:p]
        treated = base + D @ coef[p:2 * p] + coef[2 * p]
        if self.binary_:
            return np.asarray(_sigmoid(treated) - _sigmoid(base))
        return np.asarray(treated - base)



#: learner name -> class (the ``--model`` choices)
LEARNERS: dict[str, type[UpliftLearner]] = {
    cls.name: cls for cls in (TwoModelUplift, ClassTransformationUplift, XLearnerUplift,
                              RLearnerUplift, DRLearnerUplift, LinearUplift)}


def make_learner(name: str, **params: Any) -> UpliftLearner:
    """A learner of :data:`LEARNERS` by name."""
    if name not in LEARNERS:
        raise ModelFitError(f"unknown uplift learner {name!r}; use one of: "
                            f"{', '.join(LEARNERS)}")
    return LEARNERS[name](**params)


def _matrix(X: np.ndarray) -> np.ndarray:
    """``X`` as a C-ordered float32 matrix (no copy when it already is one)."""
    A = np.asarray(X)
    if A.ndim != 2:
        raise ModelFitError(f"X must be a 2-d matrix, got shape {A.shape}")
    return np.ascontiguousarray(A, dtype=np.float32)


def _predict_chunks(booster: Any, X: np.ndarray, chunk: int) -> np.ndarray:
    out = np.empty(len(X))
    for start in range(0, len(X), chunk):
        out[start:start + chunk] = booster.predict(X[start:start + chunk])
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))


def _skewness(v: np.ndarray) -> float:
    sd = v.std()
    return float(((v - v.mean()) ** 3).mean() / sd ** 3) if sd > 0 else 0.0
