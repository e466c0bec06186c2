"""Shared helpers of the CLV estimators: input validation, compression, optimisation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from sklearn.base import BaseEstimator
from threadpoolctl import ThreadpoolController

from insightloop.errors import ModelFitError, NotFittedError

FloatArray = NDArray[np.float64]


def as_float_array(values: ArrayLike, name: str) -> FloatArray:
    """1-D float array from any array-like (pandas Series too), with a named error."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    return np.atleast_1d(arr).reshape(-1) if arr.ndim <= 1 else arr.reshape(-1)


def _first_bad(mask: NDArray[np.bool_]) -> tuple[int, int]:
    idx = np.flatnonzero(mask)
    return int(idx.size), int(idx[0]) if idx.size else -1


def validate_rft(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
                 ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Check (frequency, recency, T) as the BG/NBD and Pareto/NBD models need them.

    Raises ``ValueError`` naming how many rows break a rule and the first index.
    """
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    t_big = as_float_array(T, "T")
    n = x.size
    if t_x.size != n or t_big.size != n:
        if t_big.size == 1 and t_x.size == n:
            t_big = np.full(n, t_big[0])
        else:
            raise ValueError(
                f"frequency, recency and T must have the same length, got {n}, {t_x.size}, "
                f"{t_big.size}"
            )
    checks: list[tuple[NDArray[np.bool_], str]] = [
        (~np.isfinite(x) | ~np.isfinite(t_x) | ~np.isfinite(t_big), "are NaN or infinite"),
        (x < 0, "have negative frequency"),
        (np.isfinite(x) & (x != np.round(x)), "have a non-integer frequency"),
        (t_x < 0, "have negative recency"),
        (t_big < 0, "have negative T"),
        (t_x > t_big * (1 + 1e-9) + 1e-9, "have recency > T"),
        ((x > 0) & (t_x <= 0), "have frequency > 0 but recency 0 (repeat purchases take time)"),
        ((x == 0) & (t_x > 0), "have frequency 0 but recency > 0 (recency must be 0)"),
    ]
    for mask, what in checks:
        count, first = _first_bad(mask)
        if count:
            raise ValueError(f"{count} of {n} customers {what}; first at index {first} "
                             f"(frequency={x[first]}, recency={t_x[first]}, T={t_big[first]})")
    return x, np.minimum(t_x, t_big), t_big


def compress(weights: ArrayLike | None, *columns: FloatArray
             ) -> tuple[FloatArray, list[FloatArray]]:
    """Merge identical rows of ``columns`` into unique rows with summed weights."""
    n = columns[0].size
    w = np.ones(n) if weights is None else as_float_array(weights, "weights")
    if w.size != n:
        raise ValueError(f"weights has length {w.size}, expected {n}")
    count, first = _first_bad(~np.isfinite(w) | (w < 0))
    if count:
        raise ValueError(f"{count} weights are negative or not finite; first at index {first}")
    keep = w > 0
    frame = pd.DataFrame({f"c{j}": c[keep] for j, c in enumerate(columns)})
    frame["w"] = w[keep]
    grouped = frame.groupby([f"c{j}" for j in range(len(columns))], sort=True)["w"].sum()
    levels = [grouped.index.get_level_values(j).to_numpy(np.float64)
              for j in range(len(columns))]
    return grouped.to_numpy(np.float64), levels


def minimize_log_params(
    objective: Callable[[FloatArray], tuple[float, FloatArray] | float],
    starts: list[FloatArray],
    jac: bool,
    model: str,
) -> tuple[FloatArray, float]:
    """L-BFGS-B over log-parameters from several starts; best finite optimum wins."""
    bounds = [(-20.0, 20.0)] * len(starts[0])
    # L-BFGS-B calls BLAS on 4-vectors: threads only add overhead (10x on busy hosts)
    with _controller().limit(limits=1, user_api="blas"):
        return _minimize(objective, starts, jac, model, bounds)


_CONTROLLER: list[ThreadpoolController] = []


def _controller() -> ThreadpoolController:
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def _minimize(objective: Callable[[FloatArray], tuple[float, FloatArray] | float],
              starts: list[FloatArray], jac: bool, model: str,
              bounds: list[tuple[float, float]]) -> tuple[FloatArray, float]:
    best: Any = None
    for x0 in starts:
        try:
            with np.errstate(all="ignore"):
                res = minimize(objective, x0, jac=jac, method="L-BFGS-B", bounds=bounds,
                               # numerical gradients (Pareto/NBD) cost ~9 evaluations an
                               # iteration: a run-off fit gives up sooner
                               options={"maxiter": 2000 if jac else 300, "ftol": 1e-15,
                                        "gtol": 1e-10})
        except (FloatingPointError, ValueError):
            continue
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
        if best is res and res.success and np.all(np.abs(res.x) < 15.0):
            break  # converged inside the box: further starts only cost time
    if best is None:
        raise ModelFitError(f"{model}: the optimiser found no finite likelihood; "
                            "try penalizer=0.01")
    if np.any(np.abs(best.x) > 15.0):
        raise ModelFitError(
            f"{model}: a parameter ran off to 0 or infinity (parameters "
            f"{np.array2string(np.exp(best.x), precision=3)} on the internal time scale); the "
            "data cannot identify the model (e.g. no heterogeneity or no dropout); "
            "try penalizer=0.01"
        )
    return np.asarray(best.x, dtype=np.float64), float(best.fun)


def check_fitted(model: Any, attrs: tuple[str, ...]) -> None:
    if not all(hasattr(model, a) for a in attrs):
        raise NotFittedError(
            f"this {type(model).__name__} instance is not fitted yet; call fit() first"
        )


class PenalizedEstimator(BaseEstimator):  # type: ignore[misc]
    """scikit-learn plumbing shared by the CLV estimators.

    ``_hyper`` names the hyper-parameters (``penalizer``, and ``dropout_prior`` for the
    purchase models); ``_fitted`` names the learned attributes (``r_``, ``alpha_``, …)
    that :attr:`params_` returns without the trailing underscore.
    """

    _fitted: tuple[str, ...] = ()
    _hyper: tuple[str, ...] = ("penalizer",)

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._hyper}

    def set_params(self, **params: Any) -> Any:
        for key, value in params.items():
            if key not in self._hyper:
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}; "
                                 f"valid: {', '.join(self._hyper)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyper)
        return f"{type(self).__name__}({args})"

    @property
    def params_(self) -> dict[str, float]:
        check_fitted(self, self._fitted)
        return {name.rstrip("_"): float(getattr(self, name)) for name in self._fitted}

    def summary(self) -> dict[str, dict[str, float | None]]:
        """Per parameter: ``coef``, ``se`` (standard error), ``lower_95``, ``upper_95``.

        Like *lifetimes*' ``summary``: the standard errors come from the inverse of the
        observed information matrix (the Hessian of the penalised negative
        log-likelihood at the optimum, in log-parameters, mapped back by the delta
        method) and the bounds are ``coef -/+ 1.96 se``. ``None`` where the Hessian is
        not positive definite (a flat or degenerate likelihood).
        """
        params = self.params_
        cov = getattr(self, "log_covariance_", None)
        out: dict[str, dict[str, float | None]] = {}
        for i, (name, coef) in enumerate(params.items()):
            var = float(cov[i, i]) if cov is not None else float("nan")
            se = coef * float(np.sqrt(var)) if np.isfinite(var) and var >= 0 else None
            out[name] = {"coef": coef, "se": se,
                         "lower_95": coef - 1.96 * se if se is not None else None,
                         "upper_95": coef + 1.96 * se if se is not None else None}
        return out


class PurchaseEstimator(PenalizedEstimator):
    """A repeat-purchase model: ``penalizer`` (L2, as in *lifetimes*) and ``dropout_prior``.

    ``dropout_prior`` is the strength of a log-normal prior on the two dropout
    parameters (``a, b`` for BG/NBD and MBG/NBD, ``s, beta`` for Pareto/NBD), centred
    on 1 (on the internal time scale where the longest customer history is 10 units):
    ``dropout_prior * ((log a)^2 + (log b)^2)`` is added to the mean negative
    log-likelihood, so the fit is a MAP fit. It keeps the dropout process from running
    to "nobody ever drops out" on data that cannot tell (0 = plain maximum likelihood).
    """

    _hyper = ("penalizer", "dropout_prior")

    def __init__(self, penalizer: float = 0.0, dropout_prior: float = 0.0) -> None:
        self.penalizer = penalizer
        self.dropout_prior = dropout_prior


def log_covariance(objective: Callable[[FloatArray], Any], u: FloatArray, total: float,
                   jac: bool) -> FloatArray:
    """Inverse observed information in log-parameters: ``inv(total * Hessian(mean NLL))``.

    The Hessian is taken by central differences of the analytic gradient (``jac``) or of
    the objective. A matrix of NaN when it is not positive definite.
    """
    k = u.size
    h = 1e-4
    hess = np.empty((k, k))
    with np.errstate(all="ignore"):
        if jac:
            for i in range(k):  # k <= 4 parameters: a loop over parameters, not rows
                e = np.zeros(k)
                e[i] = h
                hess[i] = (objective(u + e)[1] - objective(u - e)[1]) / (2 * h)
        else:
            f0 = float(objective(u))
            for i in range(k):
                for j in range(i, k):
                    ei, ej = np.zeros(k), np.zeros(k)
                    ei[i], ej[j] = h, h
                    val = (float(objective(u + ei + ej)) - float(objective(u + ei - ej))
                           - float(objective(u - ei + ej)) + float(objective(u - ei - ej))
                           ) / (4 * h * h) if i != j else (
                        float(objective(u + ei)) - 2 * f0 + float(objective(u - ei))) / (h * h)
                    hess[i, j] = hess[j, i] = val
    hess = (hess + hess.T) / 2 * total
    nan = np.full((k, k), np.nan)
    if not np.all(np.isfinite(hess)):
        return nan
    try:
        chol = np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return nan
    inv_chol = np.linalg.inv(chol)
    return np.asarray(inv_chol.T @ inv_chol, dtype=np.float64)


def check_prior(value: float, model: str) -> float:
    return check_penalizer(value, model, "dropout_prior")


def check_penalizer(penalizer: float, model: str, name: str = "penalizer") -> float:
    """``penalizer`` (or the hyper-parameter ``name``) as a float >= 0, or a named error."""
    try:
        value = float(penalizer)
    except (TypeError, ValueError):
        raise ValueError(f"{model}: {name} must be a number >= 0, got {penalizer!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{model}: {name} must be a number >= 0, got {penalizer!r}")
    return value
