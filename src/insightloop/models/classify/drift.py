"""Population stability index (PSI) between training and scoring data.

At training time :func:`distribution_summary` stores, per feature, decile bin
edges and the share of rows per bin (numeric) or the shares of the most
frequent levels (categorical), each with a share of missing values. At scoring
time :func:`population_stability` bins the new data the same way and computes

``PSI = Σ (a − e) · ln(a / e)`` over bins (shares floored at 1e-4).

Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 large shift.

Features bounded by the history a warehouse holds at the as-of date (a customer's
tenure cannot exceed the days since the first order loaded) grow with the clock by
construction: scoring is always later than the training as-of dates, so every
customer's tenure is larger. They are compared *relative to that history*: the
caller passes ``relative`` (column -> the history in days of each row) to both
:func:`distribution_summary` and :func:`population_stability`, and the summary
records it (``"relative": true``). A real shift (a surge of new customers, a base
that stops being renewed) still moves the relative distribution and still warns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

PSI_MODERATE = 0.1
PSI_HIGH = 0.25
_FLOOR = 1e-4
_TOP_LEVELS = 20


class DriftWarning(UserWarning):
    """Scoring data differs a lot from training data (PSI above the threshold)."""


def _is_numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def _numeric_bins(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    present = ~np.isnan(v)
    counts = np.bincount(np.searchsorted(edges, v[present], side="right"),
                         minlength=edges.size + 1).astype(float)
    return np.r_[counts, (~present).sum()] / max(v.size, 1)


def _level_shares(values: pd.Series, levels: list[str]) -> np.ndarray:
    text = values.astype("string")
    missing = text.isna().to_numpy()
    known = text.isin(levels).fillna(False).to_numpy(dtype=bool)
    counts = text[known].value_counts().reindex(levels, fill_value=0).to_numpy(dtype=float)
    other = float((~known & ~missing).sum())
    return np.r_[counts, other, missing.sum()] / max(len(values), 1)


def _relative(X: pd.DataFrame, col: str, relative: Mapping[str, Any] | None) -> pd.Series:
    """Column ``col`` divided by its row's history (days) when ``relative`` names it."""
    s = X[col]
    if relative is None or col not in relative:
        return s
    history = np.maximum(np.asarray(relative[col], dtype=float), 1.0)
    return pd.to_numeric(s, errors="coerce").astype(float) / history


def distribution_summary(X: pd.DataFrame, bins: int = 10,
                         relative: Mapping[str, Any] | None = None
                         ) -> dict[str, dict[str, Any]]:
    """Per-column training distribution (JSON-serialisable) for later PSI checks.

    ``relative`` maps a column bounded by the data's history to that history in days per
    row (see the module docstring): the column is summarised divided by it.
    """
    out: dict[str, dict[str, Any]] = {}
    qs = np.linspace(0, 1, bins + 1)[1:-1]
    for col in X.columns:
        s = _relative(X, str(col), relative)
        if _is_numeric(s):
            v = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
            edges = np.unique(np.quantile(v, qs)) if v.size else np.array([])
            out[str(col)] = {"kind": "numeric", "edges": edges.tolist(),
                             "shares": _numeric_bins(s, edges).tolist()}
            if relative is not None and str(col) in relative:
                out[str(col)]["relative"] = True
        else:
            levels = [str(v) for v in s.astype("string").value_counts().index[:_TOP_LEVELS]]
            out[str(col)] = {"kind": "categorical", "levels": levels,
                             "shares": _level_shares(s, levels).tolist()}
    return out


def psi_value(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI of two share vectors over the same bins."""
    e = np.maximum(np.asarray(expected, dtype=float), _FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def population_stability(summary: dict[str, dict[str, Any]], X: pd.DataFrame,
                         relative: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """PSI per feature of ``X`` against a training :func:`distribution_summary`.

    ``relative`` gives the history (days per row) of the columns summarised relative to
    it; such a column is skipped when it is not given (its raw values are not comparable).

    Returns
    -------
    pandas.DataFrame
        ``feature, psi, status`` (``stable`` / ``moderate`` / ``high``), sorted by PSI.
        Features of the summary that ``X`` lacks are skipped (the feature check of
        the registry reports them).
    """
    rows: list[dict[str, Any]] = []
    for col, spec in summary.items():
        if col not in X.columns:
            continue
        if spec.get("relative") and (relative is None or col not in relative):
            continue
        if spec["kind"] == "numeric":
            values = _relative(X, col, relative if spec.get("relative") else None)
            actual = _numeric_bins(values, np.asarray(spec["edges"], dtype=float))
        else:
            actual = _level_shares(X[col], list(spec["levels"]))
        rows.append({"feature": col, "psi": psi_value(np.asarray(spec["shares"]), actual)})
    frame = pd.DataFrame(rows, columns=["feature", "psi"])
    frame["status"] = np.select([frame["psi"] > PSI_HIGH, frame["psi"] > PSI_MODERATE],
                                ["high", "moderate"], "stable")
    return frame.sort_values("psi", ascending=False, ignore_index=True)
