"""Global importance and per-row reasons, in numbers and in plain words.

Contributions come from :meth:`TabularClassifier.contributions` (exact TreeSHAP
for LightGBM, exact linear SHAP for the logistic model, in calibrated
log-odds). To speak in probabilities, each row's log-odds contributions are
multiplied by the secant slope of the sigmoid between the base score and the
row's score, ``(p − p₀) / (logit p − logit p₀)``: the effects then add up
exactly to ``p − p₀`` and keep the sign and ranking of the exact contributions.
So "last purchase 94 days ago raised churn risk by 0.21" means that of this
customer's distance from the typical score ``p₀``, 0.21 is due to recency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from insightloop.models.classify.pipeline import BASE, TabularClassifier

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _num(fmt: str) -> Callable[[Any], str]:
    def render(v: Any) -> str:
        return fmt.format(v=float(v))

    return render


def _weekday(v: Any) -> str:
    if isinstance(v, int | float | np.integer | np.floating) and 0 <= float(v) <= 6:
        return f"usually buys on {_WEEKDAYS[int(v)]}"
    return f"usually buys on {v}"


PHRASES: dict[str, Callable[[Any], str]] = {
    "recency_days": _num("last purchase {v:.0f} days ago"),
    "tenure_days": _num("first purchase {v:.0f} days ago"),
    "frequency": _num("{v:.0f} orders"),
    "n_orders": _num("{v:.0f} orders"),
    "monetary": _num("net spend {v:,.2f}"),
    "gross_revenue": _num("gross spend {v:,.2f}"),
    "avg_order_value": _num("average order {v:,.2f}"),
    "n_items": _num("{v:,.0f} items bought"),
    "n_lines": _num("{v:,.0f} order lines"),
    "n_returns": _num("{v:.0f} returns or cancellations"),
    "return_rate": _num("return rate {v:.0%}"),
    "inter_purchase_days": _num("{v:.0f} days between orders on average"),
    "preferred_hour": _num("usually buys around {v:.0f}h"),
    "preferred_weekday": _weekday,
    "n_events": _num("{v:,.0f} tracked events"),
    "orders_30d": _num("{v:.0f} orders in the last 30 days"),
    "orders_90d": _num("{v:.0f} orders in the last 90 days"),
    "revenue_30d": _num("spend {v:,.2f} in the last 30 days"),
    "revenue_90d": _num("spend {v:,.2f} in the last 90 days"),
    "country": lambda v: f"country {v}",
    "channel": lambda v: f"channel {v}",
    "fav_product_1": lambda v: f"favourite product {v}",
    "fav_product_2": lambda v: f"second favourite product {v}",
    "fav_product_3": lambda v: f"third favourite product {v}",
    "fav_category_1": lambda v: f"favourite category {v}",
    "fav_category_2": lambda v: f"second favourite category {v}",
    "fav_category_3": lambda v: f"third favourite category {v}",
}


def describe_value(feature: str, value: Any) -> str:
    """Plain words for one feature value, e.g. ``last purchase 94 days ago``."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return f"{feature.replace('_', ' ')} unknown"
    phrase = PHRASES.get(feature)
    if phrase is not None:
        try:
            return phrase(value)
        except (TypeError, ValueError):
            pass
    if isinstance(value, float | np.floating):
        return f"{feature} = {float(value):.4g}"
    return f"{feature} = {value}"


def probability_effects(clf: TabularClassifier, X: pd.DataFrame) -> pd.DataFrame:
    """Per-feature effects in probability units; ``__base__`` holds ``p₀`` of each row.

    Every row's effects sum to ``p − p₀`` where ``p`` is the model's probability.
    """
    contrib = clf.contributions(X)
    base = contrib.pop(BASE).to_numpy()
    logit = base + contrib.sum(axis=1).to_numpy()
    p, p0 = 1 / (1 + np.exp(-logit)), 1 / (1 + np.exp(-base))
    gap = logit - base
    slope = np.where(np.abs(gap) > 1e-9, (p - p0) / np.where(gap == 0, 1, gap), p * (1 - p))
    effects = contrib.mul(slope, axis=0)
    effects[BASE] = p0
    return effects


def global_importance(clf: TabularClassifier, X: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute contribution per feature over ``X`` (log-odds and probability).

    Returns
    -------
    pandas.DataFrame
        ``feature, mean_abs_logodds, mean_abs_probability, share`` sorted by importance.
    """
    contrib = clf.contributions(X).drop(columns=BASE)
    prob = probability_effects(clf, X).drop(columns=BASE)
    out = pd.DataFrame({
        "feature": contrib.columns,
        "mean_abs_logodds": contrib.abs().mean().to_numpy(),
        "mean_abs_probability": prob.abs().mean().to_numpy(),
    })
    total = out["mean_abs_logodds"].sum()
    out["share"] = out["mean_abs_logodds"] / total if total > 0 else 0.0
    return out.sort_values("mean_abs_logodds", ascending=False, ignore_index=True)


def top_reasons(clf: TabularClassifier, X: pd.DataFrame, top: int = 3,
                label: str = "the score") -> pd.DataFrame:
    """The ``top`` strongest reasons per row, with plain-words text.

    Parameters
    ----------
    clf : TabularClassifier
        A fitted classifier.
    X : pandas.DataFrame
        Rows to explain.
    top : int
        Reasons per row.
    label : str
        What the probability means, e.g. ``"churn risk"``.

    Returns
    -------
    pandas.DataFrame
        Long format: ``row`` (index label of ``X``), ``rank``, ``feature``, ``value``,
        ``effect`` (probability units, signed) and ``text``.
    """
    effects = probability_effects(clf, X).drop(columns=BASE)
    effects.index = pd.RangeIndex(len(X))
    long = effects.stack().rename("effect").reset_index()
    long.columns = pd.Index(["pos", "feature", "effect"])
    long["abs"] = long["effect"].abs()
    long = long.sort_values(["pos", "abs"], ascending=[True, False], kind="stable")
    long = long.groupby("pos", sort=False).head(top).copy()
    long["rank"] = long.groupby("pos").cumcount() + 1
    cells = X.to_numpy(dtype=object)
    cols = pd.Index([str(c) for c in X.columns]).get_indexer(long["feature"])
    long["value"] = cells[long["pos"].to_numpy(), cols]
    words = pd.Series([describe_value(f, v) for f, v in zip(long["feature"], long["value"],
                                                               strict=True)], index=long.index)
    verb = np.where(long["effect"] >= 0, "raised", "lowered")
    long["text"] = (words + " " + verb + f" {label} by " + long["abs"].map("{:.2f}".format))
    long["row"] = np.asarray(X.index)[long["pos"].to_numpy()]
    return long[["row", "rank", "feature", "value", "effect", "text"]].reset_index(drop=True)
