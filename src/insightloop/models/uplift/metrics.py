"""Uplift metrics: Qini and uplift curves, their normalised areas, uplift@k, uplift by decile.

The definitions are scikit-uplift 0.5.1's (``sklift.metrics``), re-implemented with numpy
so that numbers are comparable with the published ones (ANCHORS.md: Hillstrom uplift@30%
0.066), and extended to continuous outcomes (revenue, predicted CLV), where the same
formulas hold. Customers are ranked by predicted uplift, highest first; ties are ordered
as scikit-uplift orders them (a stable ascending sort, reversed) and a curve has one point
per distinct score (a tie is never split).

With ``n(i)`` customers in the top, ``n_t(i)`` / ``n_c(i)`` of them treated / control and
``y_t(i)`` / ``y_c(i)`` their summed outcomes:

* Qini curve: ``Q(i) = y_t(i) - y_c(i) * n_t(i) / n_c(i)`` (Radcliffe 2007): the
  incremental outcomes of treating the top ``i``;
* uplift curve: ``U(i) = (y_t(i) / n_t(i) - y_c(i) / n_c(i)) * n(i)`` (0 where an arm is
  empty);
* ``qini_auc`` / ``auuc``: (area under the model's curve - area under the straight line to
  the curve's end) / (the same for the perfect ranking), trapezoids: 1 for the perfect
  ranking, about 0 for a random one. The perfect Qini ranking puts treated responders
  first and control responders last (``negative_effect=True``); the perfect uplift curve
  is scikit-uplift's for binary outcomes and the perfect Qini ranking otherwise;
* ``uplift_at_k``: with ``strategy="overall"`` (the anchor's) the response-rate difference
  between treated and control among the top ``int(k * n)`` customers; with ``"by_group"``
  the top ``int(k * n_t)`` treated against the top ``int(k * n_c)`` control customers.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from insightloop.errors import ModelFitError

Strategy = Literal["overall", "by_group"]
__all__ = ["qini_auc_score", "qini_curve", "uplift_at_k", "uplift_auc_score",
           "uplift_by_decile", "uplift_curve"]


def _arrays(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    u = np.asarray(uplift, dtype=np.float64).ravel()
    t = np.asarray(treatment).ravel().astype(bool)
    if not len(y) == len(u) == len(t):
        raise ModelFitError(f"outcome, uplift and treatment differ in length: {len(y)}, "
                            f"{len(u)}, {len(t)}")
    if not t.any() or t.all():
        raise ModelFitError("uplift metrics need treated and control customers; one arm is "
                            "empty")
    return y, u, t


def _order(u: np.ndarray) -> np.ndarray:
    """Highest score first; ties as scikit-uplift orders them."""
    return np.argsort(u, kind="stable")[::-1]


def _cumulative(y: np.ndarray, u: np.ndarray, t: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """At each distinct score: n, n_t, n_c, y_t, y_c of everyone ranked up to it."""
    order = _order(u)
    ys, us, ts = y[order], u[order], t[order]
    ends = np.r_[np.flatnonzero(np.diff(us)), us.size - 1]
    n_t = np.cumsum(ts, dtype=np.float64)[ends]
    y_t = np.cumsum(np.where(ts, ys, 0.0))[ends]
    y_c = np.cumsum(np.where(ts, 0.0, ys))[ends]
    n = (ends + 1).astype(np.float64)
    return n, n_t, n - n_t, y_t, y_c


def _from_origin(x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if x.size == 0 or v[0] != 0 or x[0] != 0:
        return np.r_[0.0, x], np.r_[0.0, v]
    return x, v


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def qini_curve(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(n, Q(n))`` of the Qini curve, starting at (0, 0)."""
    y, u, t = _arrays(y, uplift, treatment)
    n, n_t, n_c, y_t, y_c = _cumulative(y, u, t)
    return _from_origin(n, y_t - y_c * _ratio(n_t, n_c))


def uplift_curve(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(n, U(n))`` of the uplift curve, starting at (0, 0)."""
    y, u, t = _arrays(y, uplift, treatment)
    n, n_t, n_c, y_t, y_c = _cumulative(y, u, t)
    return _from_origin(n, (_ratio(y_t, n_t) - _ratio(y_c, n_c)) * n)


def _binary(y: np.ndarray) -> bool:
    return bool(np.isin(y, (0.0, 1.0)).all())


def _perfect_qini_scores(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.where(t, y, -y)


def _perfect_uplift_scores(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    if not _binary(y):
        return _perfect_qini_scores(y, t)
    control_responders = np.sum((y == 1) & ~t)
    treated_non_responders = np.sum((y == 0) & t)
    summand = y if control_responders > treated_non_responders else t.astype(np.float64)
    return 2.0 * (y == t) + summand


def _area(x: np.ndarray, v: np.ndarray) -> float:
    return float(np.sum((x[1:] - x[:-1]) * (v[1:] + v[:-1])) / 2.0)


def _normalised(curve: tuple[np.ndarray, np.ndarray], perfect: tuple[np.ndarray, np.ndarray]
                ) -> float:
    x, v = curve
    px, pv = perfect
    baseline = float(px[-1] * pv[-1]) / 2.0
    best = _area(px, pv) - baseline
    if best == 0:
        return float("nan")
    return (_area(x, v) - baseline) / best


def qini_auc_score(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray) -> float:
    """Normalised area under the Qini curve (scikit-uplift's ``qini_auc_score``)."""
    y, u, t = _arrays(y, uplift, treatment)
    return _normalised(qini_curve(y, u, t), qini_curve(y, _perfect_qini_scores(y, t), t))


def uplift_auc_score(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray) -> float:
    """Normalised area under the uplift curve, AUUC (scikit-uplift's ``uplift_auc_score``)."""
    y, u, t = _arrays(y, uplift, treatment)
    return _normalised(uplift_curve(y, u, t), uplift_curve(y, _perfect_uplift_scores(y, t), t))


def uplift_at_k(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray, k: float = 0.3,
                strategy: Strategy = "overall") -> float:
    """Treated minus control mean outcome in the top ``k`` share by predicted uplift."""
    y, u, t = _arrays(y, uplift, treatment)
    if not 0 < k < 1:
        raise ModelFitError(f"k must be a share in (0, 1), got {k}")
    order = _order(u)
    ys, ts = y[order], t[order]
    if strategy == "overall":
        top = int(len(y) * k)
        head_y, head_t = ys[:top], ts[:top]
        if not head_t.any() or head_t.all():
            return float("nan")
        return float(head_y[head_t].mean() - head_y[~head_t].mean())
    if strategy == "by_group":
        treated, control = ys[ts], ys[~ts]
        n_t, n_c = int(len(treated) * k), int(len(control) * k)
        if n_t == 0 or n_c == 0:
            return float("nan")
        return float(treated[:n_t].mean() - control[:n_c].mean())
    raise ModelFitError(f"strategy must be 'overall' or 'by_group', got {strategy!r}")


def uplift_by_decile(y: np.ndarray, uplift: np.ndarray, treatment: np.ndarray,
                     bins: int = 10) -> dict[str, np.ndarray]:
    """Per bin of the ranking (``bins`` near-equal groups, highest predicted uplift first, as
    ``numpy.array_split`` cuts them): customers per arm, mean outcome per arm, their
    difference (the measured uplift), its standard error and the mean predicted uplift."""
    y, u, t = _arrays(y, uplift, treatment)
    if not 1 <= bins <= len(y):
        raise ModelFitError(f"bins must be between 1 and {len(y)}, got {bins}")
    order = _order(u)
    ys, ts, us = y[order], t[order], u[order]
    sizes = np.array([len(a) for a in np.array_split(np.empty(len(y)), bins)])
    group = np.repeat(np.arange(bins), sizes)

    def per_bin(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=values, minlength=bins)

    n_t, n_c = per_bin(ts.astype(np.float64)), per_bin((~ts).astype(np.float64))
    sum_t, sum_c = per_bin(np.where(ts, ys, 0.0)), per_bin(np.where(ts, 0.0, ys))
    sq_t, sq_c = per_bin(np.where(ts, ys * ys, 0.0)), per_bin(np.where(ts, 0.0, ys * ys))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_t, mean_c = sum_t / n_t, sum_c / n_c
        var_t = np.maximum(sq_t / n_t - mean_t ** 2, 0.0) / n_t
        var_c = np.maximum(sq_c / n_c - mean_c ** 2, 0.0) / n_c
    return {"bin": np.arange(1, bins + 1), "n_treated": n_t.astype(np.int64),
            "n_control": n_c.astype(np.int64), "mean_treated": mean_t, "mean_control": mean_c,
            "uplift": mean_t - mean_c, "std_error": np.sqrt(var_t + var_c),
            "predicted": per_bin(us) / sizes}
