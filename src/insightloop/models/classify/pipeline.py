"""A tabular binary classifier usable on any table.

:class:`TabularClassifier` types and encodes the columns
(:class:`~insightloop.models.classify.typing.TableEncoder`), then chooses
between

* **lightgbm** — gradient-boosted trees over a small grid of ``num_leaves``,
  the number of rounds picked by early stopping on the mean cross-validated AUC;
* **logistic** — an L2-regularised logistic regression on one-hot categories and
  cubic B-spline bases of numeric columns (plus missing-value indicators), over a
  small grid of ``C``;
* **blend** — a weighted average of the two in log-odds space,

by inner (group-)stratified K-fold cross-validation **on the training data only**
(mean fold AUC). The out-of-fold scores of the chosen model fit a Platt
calibration (``p = sigmoid(a·s + b)``) and give the decision threshold (max F1).
The chosen model is refitted on all the training data.

Because calibration is monotone and linear in log-odds, per-feature
contributions stay exact: LightGBM's TreeSHAP (``pred_contrib=True``) and the
exact linear SHAP ``w·(z(x) − E[z])`` of the logistic model, summed over the
columns derived from one input column, multiplied by ``a``
(:meth:`TabularClassifier.contributions`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from insightloop.errors import ConfigError, ModelFitError, NotFittedError
from insightloop.models.classify.metrics import auc, best_f1_threshold, classification_report
from insightloop.models.classify.typing import TableEncoder

ModelChoice = Literal["auto", "lightgbm", "logistic", "blend"]
MODEL_CHOICES: tuple[str, ...] = ("auto", "lightgbm", "logistic", "blend")
BASE = "__base__"

LGBM_GRID: tuple[dict[str, Any], ...] = (
    {"num_leaves": 7, "min_child_samples": 20},
    {"num_leaves": 15, "min_child_samples": 30},
    {"num_leaves": 31, "min_child_samples": 50},
)
LOGISTIC_C: tuple[float, ...] = (0.05, 0.5)
BLEND_WEIGHTS: tuple[float, ...] = (0.3, 0.5, 0.7)


def binary_target(y: Sequence[Any] | pd.Series | np.ndarray, positive: Any = None
                  ) -> np.ndarray:
    """Turn a target column into 0/1 with a clear error on bad input.

    Parameters
    ----------
    y : array-like
        Target values.
    positive : object, optional
        The value meaning "positive". Optional when ``y`` is boolean or 0/1.

    Raises
    ------
    ConfigError
        ``positive`` is missing for a non-0/1 target, or not among the values.
    ModelFitError
        Missing target values, or only one class present.
    """
    s = pd.Series(np.asarray(y, dtype=object))
    if s.isna().any():
        raise ModelFitError(f"target has {int(s.isna().sum())} missing values of {len(s)}; "
                            "drop or fill those rows first")
    if positive is None:
        values = set(s.unique().tolist())
        if not values <= {0, 1}:  # True/False compare equal to 1/0
            raise ConfigError(f"target values are {sorted(map(str, values))[:10]}; "
                              "say which one is positive (--positive VALUE)")
        out = s.astype(int).to_numpy()
    else:
        text = s.astype(str).str.strip()
        pos = str(positive).strip()
        if not (text == pos).any():
            raise ConfigError(f"positive value {pos!r} does not occur in the target; values are "
                              f"{sorted(text.unique().tolist())[:10]}")
        out = (text == pos).to_numpy().astype(int)
    if np.unique(out).size < 2:
        raise ModelFitError(f"target has one class only ({len(out)} rows, all "
                            f"{'positive' if out.all() else 'negative'}); a classifier needs both")
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _folds(y: np.ndarray, groups: np.ndarray | None, k: int, seed: int
           ) -> list[tuple[np.ndarray, np.ndarray]]:
    minority = int(min(y.sum(), y.size - y.sum()))
    if minority < 2:
        raise ModelFitError(f"the rarer class has {minority} row(s); cross-validation needs "
                            "at least 2 of each class")
    k = max(2, min(k, minority))
    splitter: Any
    if groups is not None:
        if np.unique(groups).size < k:
            raise ModelFitError(f"only {np.unique(groups).size} distinct groups for {k} folds")
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        return [(a, b) for a, b in splitter.split(np.zeros(y.size), y, groups)]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(a, b) for a, b in splitter.split(np.zeros(y.size), y)]


def _mean_fold_auc(y: np.ndarray, s: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]
                   ) -> float:
    vals = [auc(y[te], s[te]) for _, te in folds if np.unique(y[te]).size == 2]
    return float(np.mean(vals)) if vals else float("nan")


class TabularClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Binary classifier for any table with automatic typing, model choice and calibration.

    Parameters
    ----------
    model : {"auto", "lightgbm", "logistic", "blend"}
        Model family; ``auto`` picks the best by inner cross-validated AUC.
    calibrate : bool
        Fit a Platt calibration on out-of-fold scores.
    random_state : int
        Seed for folds and boosting.
    inner_folds : int
        Folds of the inner cross-validation (model choice, tuning, calibration).
    max_categories : int
        Levels kept per categorical column.
    n_jobs : int
        Threads for LightGBM.

    Attributes
    ----------
    feature_names_in_ : list of str
        Input columns the model uses (after typing; identifiers etc. dropped).
    model_ : str
        The chosen family.
    threshold_ : float
        Probability threshold maximising F1 on out-of-fold predictions.
    cv_scores_ : dict
        Mean inner-fold AUC of every candidate.
    oof_ : pandas.DataFrame
        ``y`` and calibrated out-of-fold ``p`` of the chosen model.
    """

    def __init__(self, model: str = "auto", calibrate: bool = True, random_state: int = 0,
                 inner_folds: int = 3, max_categories: int = 50, n_jobs: int = 1) -> None:
        self.model = model
        self.calibrate = calibrate
        self.random_state = random_state
        self.inner_folds = inner_folds
        self.max_categories = max_categories
        self.n_jobs = n_jobs

    # -- fitting ---------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Sequence[Any] | pd.Series | np.ndarray,
            positive: Any = None, groups: Sequence[Any] | np.ndarray | None = None
            ) -> TabularClassifier:
        """Type columns, choose and tune the model by inner CV, calibrate, refit.

        Parameters
        ----------
        X : pandas.DataFrame
            Features (any mix of numeric, text, date columns).
        y : array-like
            Binary target.
        positive : object, optional
            Positive value of ``y`` when it is not 0/1 or boolean.
        groups : array-like, optional
            Group labels (e.g. customer ids when several as-of dates are stacked):
            inner folds never split a group.
        """
        if self.model not in MODEL_CHOICES:
            raise ConfigError(f"model must be one of {MODEL_CHOICES}, got {self.model!r}")
        with threadpool_limits(limits=self.n_jobs, user_api="blas"):
            return self._fit(X, y, positive, groups)

    def _fit(self, X: pd.DataFrame, y: Sequence[Any] | pd.Series | np.ndarray,
             positive: Any, groups: Sequence[Any] | np.ndarray | None) -> TabularClassifier:
        if len(X) != len(y):
            raise ModelFitError(f"X has {len(X)} rows but y has {len(y)}")
        yy = binary_target(y, positive)
        self.encoder_ = TableEncoder(max_categories=self.max_categories).fit(X)
        E = self.encoder_.transform(X)
        g = None if groups is None else np.asarray(groups)
        folds = _folds(yy, g, self.inner_folds, self.random_state)
        oof: dict[str, np.ndarray] = {}
        self.cv_scores_: dict[str, float] = {}
        self.params_: dict[str, Any] = {}
        if self.model in ("auto", "lightgbm", "blend"):
            params, rounds, s = self._tune_lightgbm(E, yy, folds)
            oof["lightgbm"], self.params_["lightgbm"] = s, {**params, "rounds": rounds}
        if self.model in ("auto", "logistic", "blend"):
            c, s = self._tune_logistic(E, yy, folds)
            oof["logistic"], self.params_["logistic"] = s, {"C": c}
        for name, s in oof.items():
            self.cv_scores_[name] = _mean_fold_auc(yy, s, folds)
        if "lightgbm" in oof and "logistic" in oof:
            blends = {w: w * oof["lightgbm"] + (1 - w) * oof["logistic"] for w in BLEND_WEIGHTS}
            aucs = {w: _mean_fold_auc(yy, s, folds) for w, s in blends.items()}
            w = max(aucs, key=lambda k: aucs[k])
            oof["blend"], self.cv_scores_["blend"] = blends[w], aucs[w]
            self.params_["blend"] = {"lightgbm_weight": w}
        if self.model == "auto":
            self.model_ = max(self.cv_scores_, key=lambda k: self.cv_scores_[k])
        else:
            self.model_ = self.model
        self.weight_ = {"lightgbm": 1.0, "logistic": 0.0, "blend": 0.0}[self.model_] \
            if self.model_ != "blend" else float(self.params_["blend"]["lightgbm_weight"])
        self.booster_: Any = None
        self.logistic_: Any = None
        if self.weight_ > 0:
            p = self.params_["lightgbm"]
            self.booster_ = self._fit_lgbm(E, yy, {k: v for k, v in p.items() if k != "rounds"},
                                           int(p["rounds"]))
        if self.weight_ < 1:
            self.logistic_ = self._fit_logistic(E, yy, float(self.params_["logistic"]["C"]))
        raw = oof[self.model_]
        self.calibration_ = self._fit_platt(raw, yy) if self.calibrate else (1.0, 0.0)
        p_oof = _sigmoid(self.calibration_[0] * raw + self.calibration_[1])
        self.oof_ = pd.DataFrame({"y": yy, "p": p_oof, "fold": _fold_index(folds, yy.size)})
        self.threshold_ = best_f1_threshold(yy, p_oof)
        self.feature_names_in_ = list(self.encoder_.feature_columns)
        self.n_train_ = int(yy.size)
        self.positive_rate_ = float(yy.mean())
        return self

    def _lgbm_params(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "objective": "binary", "learning_rate": 0.05, "feature_fraction": 0.8,
            "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "cat_smooth": 10.0,
            "cat_l2": 10.0, "min_data_per_group": 50, "verbose": -1,
            "num_threads": self.n_jobs, "seed": self.random_state, "deterministic": True,
            "force_col_wise": True, **extra,
        }

    def _dataset(self, E: pd.DataFrame, y: np.ndarray) -> Any:
        import lightgbm as lgb  # lazy: LightGBM (OpenMP), only when boosting

        return lgb.Dataset(E, label=y, categorical_feature="auto", free_raw_data=False)

    def _tune_lightgbm(self, E: pd.DataFrame, y: np.ndarray,
                       folds: list[tuple[np.ndarray, np.ndarray]]
                       ) -> tuple[dict[str, Any], int, np.ndarray]:
        import lightgbm as lgb  # lazy: LightGBM (OpenMP), only when boosting

        best: tuple[float, dict[str, Any], int, np.ndarray] | None = None
        n_min = min(tr.size for tr, _ in folds)
        for grid in LGBM_GRID:
            extra = {**grid, "min_child_samples": max(2, min(grid["min_child_samples"],
                                                              n_min // 20))}
            params = self._lgbm_params({**extra, "metric": "auc"})
            res: dict[str, Any] = lgb.cv(
                params, self._dataset(E, y), num_boost_round=1000, folds=folds,
                callbacks=[lgb.early_stopping(50, verbose=False)], return_cvbooster=True)
            curve = np.asarray(res["valid auc-mean"])
            rounds = int(np.argmax(curve)) + 1
            s = np.zeros(y.size)
            for booster, (_, te) in zip(res["cvbooster"].boosters, folds, strict=True):
                s[te] = booster.predict(E.iloc[te], num_iteration=rounds, raw_score=True)
            score = float(curve[rounds - 1])
            if best is None or score > best[0]:
                best = (score, extra, rounds, s)
        assert best is not None
        return best[1], best[2], best[3]

    def _fit_lgbm(self, E: pd.DataFrame, y: np.ndarray, extra: dict[str, Any],
                  rounds: int) -> Any:
        import lightgbm as lgb  # lazy: LightGBM (OpenMP), only when boosting

        return lgb.train(self._lgbm_params(extra), self._dataset(E, y), num_boost_round=rounds)

    def _logistic_pipeline(self, E: pd.DataFrame, c: float) -> Any:
        parts: list[tuple[str, Any, list[str]]] = []
        sources: dict[str, str] = {}
        for i, col in enumerate(E.columns):
            s = E[col]
            sources[f"c{i}"] = sources[f"n{i}"] = sources[f"m{i}"] = str(col)
            if isinstance(s.dtype, pd.CategoricalDtype):
                parts.append((f"c{i}", OneHotEncoder(handle_unknown="ignore",
                                                     sparse_output=False), [col]))
            else:
                knots = np.unique(np.nanquantile(s.to_numpy(dtype=float),
                                                 np.linspace(0, 1, 6))) if s.notna().any() \
                    else np.array([])
                if knots.size >= 4:
                    tr = make_pipeline(SimpleImputer(strategy="median"),
                                       SplineTransformer(knots=knots.reshape(-1, 1), degree=3,
                                                         extrapolation="constant"))
                else:
                    tr = make_pipeline(SimpleImputer(strategy="median",
                                                     keep_empty_features=True), StandardScaler())
                parts.append((f"n{i}", tr, [col]))
                if s.isna().any():
                    parts.append((f"m{i}", MissingIndicator(features="all"), [col]))
        ct = ColumnTransformer(parts, sparse_threshold=0.0, verbose_feature_names_out=False)
        pipe = Pipeline([("design", ct),
                         ("lr", LogisticRegression(C=c, max_iter=500))])
        pipe.sources_ = sources  # type: ignore[attr-defined]
        return pipe

    def _tune_logistic(self, E: pd.DataFrame, y: np.ndarray,
                       folds: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, np.ndarray]:
        best: tuple[float, float, np.ndarray] | None = None
        for c in LOGISTIC_C:
            s = np.zeros(y.size)
            for tr, te in folds:
                pipe = self._logistic_pipeline(E.iloc[tr], c).fit(E.iloc[tr], y[tr])
                s[te] = pipe.decision_function(E.iloc[te])
            score = _mean_fold_auc(y, s, folds)
            if best is None or score > best[0]:
                best = (score, c, s)
        assert best is not None
        return best[1], best[2]

    def _fit_logistic(self, E: pd.DataFrame, y: np.ndarray, c: float) -> Any:
        pipe = self._logistic_pipeline(E, c).fit(E, y)
        design = pipe.named_steps["design"]
        pipe.z_mean_ = design.transform(E).mean(axis=0)  # background for exact linear SHAP
        return pipe

    @staticmethod
    def _fit_platt(s: np.ndarray, y: np.ndarray) -> tuple[float, float]:

        lr = LogisticRegression(C=1e6, max_iter=1000).fit(s.reshape(-1, 1), y)
        return float(lr.coef_[0, 0]), float(lr.intercept_[0])

    # -- prediction ------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            raise NotFittedError("TabularClassifier is not fitted yet; call fit(X, y) first")

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated log-odds of the positive class."""
        self._check_fitted()
        E = self.encoder_.transform(X)
        raw = np.zeros(len(E))
        if self.booster_ is not None:
            raw += self.weight_ * self.booster_.predict(E, raw_score=True)
        if self.logistic_ is not None:
            with threadpool_limits(limits=self.n_jobs, user_api="blas"):
                raw += (1 - self.weight_) * self.logistic_.decision_function(E)
        a, b = self.calibration_
        return np.asarray(a * raw + b, dtype=float)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities, shape ``(n, 2)``: columns negative, positive."""
        p = _sigmoid(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 decisions at :attr:`threshold_`."""
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact per-feature contributions to the calibrated log-odds.

        Returns
        -------
        pandas.DataFrame
            One column per input feature plus ``"__base__"``; every row sums to
            :meth:`decision_function` of that row.
        """
        self._check_fitted()
        E = self.encoder_.transform(X)
        out = pd.DataFrame(0.0, index=X.index, columns=[*self.feature_names_in_, BASE])
        if self.booster_ is not None:
            # Exact tree contributions cost about 2 ms a row with 300 trees of 31 leaves,
            # so they use every core OpenMP is given (num_threads=0: OMP_NUM_THREADS,
            # which the tests set to 1); the fit keeps n_jobs. 2 threads: 47 s -> 23 s
            # for 20,000 rows.
            tree = self.booster_.predict(E, pred_contrib=True, num_threads=0)
            enc = pd.DataFrame(tree[:, :-1], index=X.index, columns=list(E.columns))
            grouped = enc.T.groupby(self.encoder_.source_of_).sum().T
            out[grouped.columns] += self.weight_ * grouped
            out[BASE] += self.weight_ * tree[:, -1]
        if self.logistic_ is not None:
            design = self.logistic_.named_steps["design"]
            lr = self.logistic_.named_steps["lr"]
            z = design.transform(E)
            w = lr.coef_[0]
            phi = (z - self.logistic_.z_mean_) * w
            sources = self.logistic_.sources_
            for name, sl in design.output_indices_.items():
                if name in sources and sl.stop > sl.start:
                    out[sources[name]] += (1 - self.weight_) * phi[:, sl].sum(axis=1)
            out[BASE] += (1 - self.weight_) * float(lr.intercept_[0] + self.logistic_.z_mean_ @ w)
        a, b = self.calibration_
        out *= a
        out[BASE] += b
        return out

    def describe(self) -> dict[str, Any]:
        """Plain summary: chosen model, CV scores, params, threshold, dropped columns."""
        self._check_fitted()
        return {
            "model": self.model_,
            "cv_auc": self.cv_scores_,
            "params": self.params_,
            "threshold": self.threshold_,
            "calibration": {"a": self.calibration_[0], "b": self.calibration_[1]},
            "features": self.feature_names_in_,
            "dropped": self.encoder_.dropped_,
            "n_train": self.n_train_,
            "positive_rate": self.positive_rate_,
        }


def _fold_index(folds: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    idx = np.full(n, -1, dtype="int64")
    for k, (_, te) in enumerate(folds):
        idx[te] = k
    return idx


def cross_validate(X: pd.DataFrame, y: Sequence[Any] | pd.Series | np.ndarray,
                   positive: Any = None, folds: int = 5, model: str = "auto",
                   random_state: int = 0,
                   on_fold: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Stratified K-fold cross-validation of the whole pipeline (typing → choice → calibration).

    Every fold fits a fresh :class:`TabularClassifier` on its training part only.
    ``on_fold(done, folds)`` is called after each fold (for progress display).

    Returns
    -------
    dict
        ``rows, auc, pr_auc, logloss`` (means over folds), ``model`` (the family chosen
        most often), ``models`` (per fold), precision/recall/F1 at each fold's own
        threshold and ``lift_top_decile`` (means), and ``oof`` (a frame of out-of-fold
        ``y, p, fold``).
    """
    yy = binary_target(y, positive)
    if folds < 2:
        raise ConfigError(f"folds must be at least 2, got {folds}")
    minority = int(min(yy.sum(), yy.size - yy.sum()))
    if minority < folds:
        raise ModelFitError(f"the rarer class has {minority} rows, fewer than {folds} folds")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    reports: list[dict[str, Any]] = []
    chosen: list[str] = []
    p = np.zeros(yy.size)
    fold_id = np.zeros(yy.size, dtype="int64")
    for k, (tr, te) in enumerate(splitter.split(np.zeros(yy.size), yy)):
        clf = TabularClassifier(model=model, random_state=random_state)
        clf.fit(X.iloc[tr], yy[tr])
        p[te] = clf.predict_proba(X.iloc[te])[:, 1]
        fold_id[te] = k
        reports.append(classification_report(yy[te], p[te], clf.threshold_))
        chosen.append(clf.model_)
        if on_fold is not None:
            on_fold(k + 1, folds)
    keys = ("auc", "pr_auc", "logloss", "precision", "recall", "f1", "lift_top_decile")
    summary: dict[str, Any] = {"rows": int(yy.size)}
    summary.update({k: float(np.mean([r[k] for r in reports])) for k in keys})
    summary["model"] = max(set(chosen), key=chosen.count)
    summary["models"] = chosen
    summary["folds"] = folds
    summary["oof"] = pd.DataFrame({"y": yy, "p": p, "fold": fold_id})
    return summary
