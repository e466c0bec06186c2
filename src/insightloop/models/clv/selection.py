"""Honest choice of the purchase model and its prior: validate inside the calibration period.

The calibration period is split at an internal date: every candidate (model family x
strength of the prior on its dropout parameters) is fitted on the transactions up to
that date and scored on the rest of the calibration period for the event "bought again
in the validation window":

* ranking: the ROC AUC of its P(alive) (what P(alive) is used for);
* calibration: the held-out log-likelihood of the event under the model's own
  probability of a purchase (``probability_of_purchase``: alive, and a purchase before
  dropout).

Among the candidates whose total forecast of the validation window is within 15% of what
happened, and whose AUC is within one standard error (Hanley & McNeil) of the best of
those, the one with the best held-out log-likelihood wins (a one-standard-error rule: the
AUC alone keeps rising with the prior's strength towards the prior's centre while the
forecast totals fall; the log-likelihood alone prefers the weakest prior that is not
degenerate).
The winner is refitted on the full calibration period and checked for a degenerate fit
(:func:`~insightloop.models.clv.diagnostics.degenerate_reasons`); a degenerate one
falls back to the next candidate, and the result records why. The holdout period the
caller evaluates on is never read here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from insightloop.errors import ModelFitError
from insightloop.models.clv.bgnbd import BetaGeoModel
from insightloop.models.clv.data import summary_from_transactions
from insightloop.models.clv.diagnostics import auc_standard_error, degenerate_reasons, roc_auc
from insightloop.models.clv.mbgnbd import ModifiedBetaGeoModel
from insightloop.models.clv.pareto_nbd import ParetoNBDModel


class PurchaseModel(Protocol):
    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> Any: ...
    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any: ...
    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any: ...
    def probability_of_purchase(self, t: Any, frequency: Any, recency: Any, T: Any
                                ) -> Any: ...
    def summary(self) -> dict[str, dict[str, float | None]]: ...
    @property
    def params_(self) -> dict[str, float]: ...


CANDIDATES: dict[str, Callable[..., PurchaseModel]] = {
    "mbgnbd": ModifiedBetaGeoModel,
    "bgnbd": BetaGeoModel,
    "paretonbd": ParetoNBDModel,
}
#: strengths of the dropout prior tried when it is chosen on the calibration period (0, the
#: plain maximum-likelihood fit, is left out: on data that cannot identify dropout it runs
#: to "nobody drops out", slowly; 0.003 is near it where the data do identify it)
PRIOR_GRID: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
#: a candidate whose total repeat purchases in the validation window are off by more than
#: this (percent) is chosen only when none is closer: a strong dropout prior ranks
#: P(alive) better and forecasts fewer purchases
MAX_BIAS_PCT = 15.0
#: the prior used when the calibration period is too short to validate on
DEFAULT_PRIOR = 0.01


@dataclass
class Selection:
    """Outcome of :func:`select_purchase_model`: the model, its prior, why, and warnings."""

    name: str
    model: PurchaseModel
    prior: float = 0.0
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    validation_auc: dict[str, float] = field(default_factory=dict)
    validation_loglik: dict[str, float] = field(default_factory=dict)
    validation_mae: dict[str, float] = field(default_factory=dict)
    validation_bias_pct: dict[str, float] = field(default_factory=dict)
    split_date: pd.Timestamp | None = None


def make_model(name: str, prior: float = 0.0) -> PurchaseModel:
    try:
        return CANDIDATES[name](dropout_prior=prior)
    except KeyError:
        raise ValueError(f"unknown purchase model {name!r}; choose auto, "
                         f"{', '.join(CANDIDATES)}") from None


def _key(name: str, prior: float) -> str:
    return f"{name}@{prior:g}"


def _validate(sub: pd.DataFrame, grid: list[tuple[str, float]], unit: float
              ) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Fit each (family, prior) on the first part; score it on the second.

    Returns per candidate key ``loglik`` (mean Bernoulli log-likelihood of "bought in the
    window"), ``auc`` (of P(alive) for the same), ``mae`` and ``bias_pct`` of the repeat
    purchase counts; and the rejected candidates with the reason.
    """
    horizon = float(sub["duration_holdout"].iloc[0])
    actual = sub["frequency_holdout"].to_numpy(np.float64)
    bought = actual > 0
    x, t_x, t_big = (sub[c].to_numpy(np.float64) for c in ("frequency", "recency", "T"))
    scores: dict[str, dict[str, float]] = {}
    rejected: dict[str, str] = {}
    for name, prior in grid:
        key = _key(name, prior)
        try:
            model = make_model(name, prior).fit(x, t_x, t_big)
            pred = np.asarray(model.expected_purchases(horizon, x, t_x, t_big))
            alive = np.asarray(model.probability_alive(x, t_x, t_big))
            p_buy = np.asarray(model.probability_of_purchase(horizon, x, t_x, t_big))
        except (ModelFitError, FloatingPointError, ValueError) as exc:
            rejected[key] = str(exc)
            continue
        if not all(np.all(np.isfinite(v)) for v in (pred, alive, p_buy)):
            rejected[key] = "predictions are not finite"
            continue
        bad = degenerate_reasons(model, x, t_x, t_big, unit)
        if bad:
            rejected[key] = "; ".join(bad)
            continue
        p_buy = np.clip(p_buy, 1e-9, 1.0 - 1e-9)
        auc = roc_auc(bought, alive)
        auc = auc if auc is not None else 0.5
        scores[key] = {
            "loglik": float(np.mean(np.where(bought, np.log(p_buy), np.log1p(-p_buy)))),
            "auc": auc,
            "auc_se": auc_standard_error(auc, int(bought.sum()), int((~bought).sum())),
            "mae": float(np.mean(np.abs(pred - actual))),
            "bias_pct": float(100.0 * (pred.sum() / max(actual.sum(), 1e-12) - 1.0)),
        }
    return scores, rejected


def select_purchase_model(
    transactions: pd.DataFrame,
    customer_col: str,
    time_col: str,
    calibration_end: Any,
    *,
    full_summary: pd.DataFrame | None = None,
    candidates: tuple[str, ...] = ("mbgnbd", "bgnbd", "paretonbd"),
    priors: tuple[float, ...] = PRIOR_GRID,
    validation_fraction: float = 1.0 / 3.0,
    time_unit_days: float = 7.0,
) -> Selection:
    """Pick the (family, prior) with the best held-out log-likelihood; refit on all calibration.

    ``full_summary`` (the calibration summary the winner is refitted on) is computed when
    not given. Candidates whose validation fit is degenerate are skipped; a winner whose
    full refit is degenerate falls back to the next. Raises
    :class:`~insightloop.errors.ModelFitError` naming every reason when none is sane.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    cal = pd.Timestamp(calibration_end)
    times = pd.to_datetime(transactions[time_col])
    start = times.min().floor("D")
    span_days = (cal.floor("D") - start).days
    split = start + pd.Timedelta(days=round(span_days * (1.0 - validation_fraction)))
    grid = [(name, prior) for name in candidates for prior in priors]
    scores: dict[str, dict[str, float]] = {}
    rejected: dict[str, str] = {}
    if span_days >= 14:
        inner = transactions[times <= cal]
        sub = summary_from_transactions(inner, customer_col, time_col, None, split,
                                        holdout_end=cal, time_unit_days=time_unit_days)
        if len(sub):
            scores, rejected = _validate(sub, grid, time_unit_days)
    summary = full_summary
    if summary is None:
        summary = summary_from_transactions(transactions, customer_col, time_col, None, cal,
                                            time_unit_days=time_unit_days)
    x, t_x, t_big = (summary[c].to_numpy(np.float64) for c in ("frequency", "recency", "T"))
    grid_keys = [_key(n, p) for n, p in grid]
    lookup = {_key(n, p): (n, p) for n, p in grid}
    fair = {k for k, v in scores.items() if abs(v["bias_pct"]) <= MAX_BIAS_PCT} or set(scores)
    top_auc = max((scores[k]["auc"] for k in fair), default=0.0)
    top_se = next((scores[k]["auc_se"] for k in fair if scores[k]["auc"] == top_auc), 0.0)
    floor = top_auc - top_se
    order = sorted(scores, key=lambda k: (k not in fair, scores[k]["auc"] < floor,
                                          -scores[k]["loglik"], scores[k]["mae"],
                                          grid_keys.index(k)))
    if not order:  # nothing validated: each family with the default prior
        prior0 = DEFAULT_PRIOR if len(priors) > 1 else priors[0]
        order = [_key(n, prior0) for n in candidates]
        lookup.update({k: (n, prior0) for k, n in zip(order, candidates, strict=True)})
    warnings: list[str] = []
    for key in order:
        name, prior = lookup[key]
        try:
            model = make_model(name, prior).fit(x, t_x, t_big)
        except ModelFitError as exc:
            rejected[key] = str(exc)
            continue
        bad = degenerate_reasons(model, x, t_x, t_big, time_unit_days)
        if bad:
            rejected[key] = "; ".join(bad)
            warnings.append(f"{key} refitted on the whole calibration period is degenerate "
                            f"({'; '.join(bad)}); fell back to the next candidate")
            continue
        if any(v["se"] is None for v in model.summary().values()):
            warnings.append(f"{key}: the information matrix is singular; standard errors "
                            "are not available (the data barely identify the parameters)")
        best = scores.get(key)
        reason = (f"held-out AUC of P(alive) {best['auc']:.3f} (best {top_auc:.3f}"
                  f" +- {top_se:.3f}), total forecast {best['bias_pct']:+.1f}%, and the best "
                  f"held-out log-likelihood ({best['loglik']:.4f} per customer) of the "
                  f"candidates within one standard error; {len(scores)} sane candidates fitted "
                  f"up to {split.date()} and scored on {split.date()}..{cal.date()}"
                  if best is not None else
                  "no candidate could be validated inside the calibration period (too short, "
                  f"or every validation fit degenerate): first sane family with prior {prior:g}")
        return Selection(
            name=name, model=model, prior=prior, reason=reason, warnings=warnings,
            validation_auc={k: v["auc"] for k, v in scores.items()},
            validation_loglik={k: v["loglik"] for k, v in scores.items()},
            validation_mae={k: v["mae"] for k, v in scores.items()},
            validation_bias_pct={k: v["bias_pct"] for k, v in scores.items()}, split_date=split)
    detail = "; ".join(f"{k}: {v}" for k, v in rejected.items()) or "no candidate"
    raise ModelFitError(f"no purchase model gives a sane fit on this data ({detail})")
