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
                               options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10})
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

    The only hyper-parameter is ``penalizer``; ``_fitted`` names the learned
    attributes (``r_``, ``alpha_``, …) that :attr:`params_` returns without the
    trailing underscore.
    """

    _fitted: tuple[str, ...] = ()

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"penalizer": self.penalizer}

    def set_params(self, **params: Any) -> Any:
        for key, value in params.items():
            if key != "penalizer":
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}; "
                                 "valid: penalizer")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(penalizer={self.penalizer!r})"

    @property
    def params_(self) -> dict[str, float]:
        check_fitted(self, self._fitted)
        return {name.rstrip("_"): float(getattr(self, name)) for name in self._fitted}


def check_penalizer(penalizer: float, model: str) -> float:
    try:
        value = float(penalizer)
    except (TypeError, ValueError):
        raise ValueError(f"{model}: penalizer must be a number >= 0, got {penalizer!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{model}: penalizer must be a number >= 0, got {penalizer!r}")
    return value
