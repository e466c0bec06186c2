"""Honest choice of the purchase model: validate inside the calibration period only.

The calibration period is split at an internal date: candidates are fitted on
the transactions up to that date and scored (mean absolute error of the
per-customer repeat purchase counts) on the rest of the calibration period.
The winner is refitted on the full calibration period. The holdout period the
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
from insightloop.models.clv.pareto_nbd import ParetoNBDModel


class PurchaseModel(Protocol):
    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> Any: ...
    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any: ...
    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any: ...
    @property
    def params_(self) -> dict[str, float]: ...


CANDIDATES: dict[str, Callable[[], PurchaseModel]] = {
    "bgnbd": BetaGeoModel,
    "paretonbd": ParetoNBDModel,
}


@dataclass
class Selection:
    """Outcome of :func:`select_purchase_model`."""

    name: str
    model: PurchaseModel
    validation_mae: dict[str, float] = field(default_factory=dict)
    validation_bias_pct: dict[str, float] = field(default_factory=dict)
    split_date: pd.Timestamp | None = None


def make_model(name: str) -> PurchaseModel:
    try:
        return CANDIDATES[name]()
    except KeyError:
        raise ValueError(f"unknown purchase model {name!r}; choose auto, "
                         f"{', '.join(CANDIDATES)}") from None


def select_purchase_model(
    transactions: pd.DataFrame,
    customer_col: str,
    time_col: str,
    calibration_end: Any,
    *,
    full_summary: pd.DataFrame | None = None,
    candidates: tuple[str, ...] = ("bgnbd", "paretonbd"),
    validation_fraction: float = 1.0 / 3.0,
    time_unit_days: float = 7.0,
) -> Selection:
    """Pick the candidate with the lowest validation MAE, then refit it on all calibration data.

    ``full_summary`` (the calibration summary the winner is refitted on) is
    computed when not given. Ties and failures fall back to BG/NBD, the first
    candidate that fits.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    cal = pd.Timestamp(calibration_end)
    times = pd.to_datetime(transactions[time_col])
    start = times.min().floor("D")
    span_days = (cal.floor("D") - start).days
    split = start + pd.Timedelta(days=round(span_days * (1.0 - validation_fraction)))
    mae: dict[str, float] = {}
    bias: dict[str, float] = {}
    if span_days >= 14:
        inner = transactions[times <= cal]
        sub = summary_from_transactions(inner, customer_col, time_col, None, split,
                                        holdout_end=cal, time_unit_days=time_unit_days)
        horizon = float(sub["duration_holdout"].iloc[0]) if len(sub) else 0.0
        actual = sub["frequency_holdout"].to_numpy(np.float64)
        for name in candidates:
            try:
                model = make_model(name).fit(sub["frequency"], sub["recency"], sub["T"])
                pred = np.asarray(model.expected_purchases(horizon, sub["frequency"],
                                                           sub["recency"], sub["T"]))
            except (ModelFitError, FloatingPointError, ValueError):
                continue
            if np.all(np.isfinite(pred)):
                mae[name] = float(np.mean(np.abs(pred - actual)))
                bias[name] = float(100.0 * (pred.sum() / max(actual.sum(), 1e-12) - 1.0))
    summary = full_summary
    if summary is None:
        summary = summary_from_transactions(transactions, customer_col, time_col, None, cal,
                                            time_unit_days=time_unit_days)
    order = sorted(mae, key=lambda k: (mae[k], candidates.index(k))) or list(candidates)
    last_error: Exception | None = None
    for name in order:
        try:
            model = make_model(name).fit(summary["frequency"], summary["recency"], summary["T"])
        except ModelFitError as exc:
            last_error = exc
            continue
        return Selection(name=name, model=model, validation_mae=mae,
                         validation_bias_pct=bias, split_date=split)
    raise ModelFitError(f"no purchase model could be fitted: {last_error}")
