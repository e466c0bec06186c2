"""RFM scoring, the classic named RFM segments, and value tiers.

Pure functions on a pandas frame with one row per customer and the profile
columns ``recency_days``, ``frequency`` and ``monetary`` (see
:mod:`insightloop.features.profiles`); nothing here touches the warehouse.

Scores
------
Each dimension is scored 1-5 by rank-based quintiles over the customers that
made at least one purchase; every customer gets a distinct rank::

    rank  = position in the order (value, tie-breaker, customer id)   # 1..n
    score = ceil(5 * rank / n)

Recency is ranked in reverse (the most recent customers get 5). Ties are broken
consistently so that every score 1..5 is used whenever there are at least five
buyers: frequency is heavily tied (most customers buy once; on the full Online
Retail export scoring tied customers alike left F2 empty), so customers with the
same value are ordered by a second dimension, then by customer id:

=========  ==============================  ===================================
score      ranked by                       ties broken by (higher ranks higher)
=========  ==============================  ===================================
R          recency_days (fewer is better)  frequency, then monetary
F          frequency                       monetary, then recency (fewer days)
M          monetary                        frequency, then recency (fewer days)
=========  ==============================  ===================================

So of two one-order customers the one who spent more gets the higher F. The
result does not depend on row order (the last tie-breaker is the customer id, or
the row label when there is no ``customer_id`` column), so it is deterministic.

``rfm_score`` is the three-digit cell code, e.g. ``"545"``.

Named segments
--------------
The common R vs FM grid, with ``FM = round_half_up((F + M) / 2)``:

======  ===============  ===============  ===============  ===========  ================
R \\ FM  1                2                3                4            5
======  ===============  ===============  ===============  ===========  ================
5       new customers    potential loyal  potential loyal  champions    champions
4       promising        potential loyal  potential loyal  loyal        loyal
3       about to sleep   about to sleep   need attention   loyal        loyal
2       hibernating      hibernating      at risk          at risk      cannot lose them
1       lost             hibernating      at risk          at risk      cannot lose them
======  ===============  ===============  ===============  ===========  ================

("potential loyal" = potential loyalist.)

Customers with no purchase
--------------------------
A customer whose window holds only returns or cancellations (``frequency ==
0``, ``recency_days`` null) is not ranked (so it does not shift anybody else's
quintiles), gets ``R = F = M = 1`` and the segment ``"lost"``.

Value tiers
-----------
:func:`value_tiers` labels customers ``high`` / ``medium`` / ``low`` by a value
column (predicted CLV when available, else historical net ``monetary``): by
default the top 20% are ``high``, the next 30% ``medium`` and the rest
``low``, by rank (customers tied at a boundary all get the better tier).
Absolute thresholds can be given instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError, SchemaError

RFM_COLUMNS = ("recency_days", "frequency", "monetary")
N_SCORES = 5

CHAMPIONS = "champions"
LOYAL = "loyal"
POTENTIAL_LOYALIST = "potential loyalist"
NEW_CUSTOMERS = "new customers"
PROMISING = "promising"
NEED_ATTENTION = "need attention"
ABOUT_TO_SLEEP = "about to sleep"
AT_RISK = "at risk"
CANNOT_LOSE_THEM = "cannot lose them"
HIBERNATING = "hibernating"
LOST = "lost"

# Rows: R = 1..5, columns: FM = 1..5 (see the module docstring).
SEGMENT_GRID: tuple[tuple[str, ...], ...] = (
    (LOST, HIBERNATING, AT_RISK, AT_RISK, CANNOT_LOSE_THEM),
    (HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, CANNOT_LOSE_THEM),
    (ABOUT_TO_SLEEP, ABOUT_TO_SLEEP, NEED_ATTENTION, LOYAL, LOYAL),
    (PROMISING, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, LOYAL, LOYAL),
    (NEW_CUSTOMERS, POTENTIAL_LOYALIST, POTENTIAL_LOYALIST, CHAMPIONS, CHAMPIONS),
)
SEGMENTS: tuple[str, ...] = (
    CHAMPIONS, LOYAL, POTENTIAL_LOYALIST, NEW_CUSTOMERS, PROMISING, NEED_ATTENTION,
    ABOUT_TO_SLEEP, AT_RISK, CANNOT_LOSE_THEM, HIBERNATING, LOST,
)
TIERS: tuple[str, ...] = ("high", "medium", "low")


def quantile_score(values: pd.Series, *, reverse: bool = False,
                   tiebreak: Sequence[pd.Series] = (), ids: pd.Series | None = None
                   ) -> pd.Series:
    """Score values 1-5 by rank-based quintiles; ties broken so every score is used.

    Parameters
    ----------
    values : pandas.Series
        Numeric values; nulls are not ranked and score ``NA``.
    reverse : bool, default False
        Score small values high (used for recency).
    tiebreak : sequence of pandas.Series
        Values (aligned with ``values``) ordering customers tied on ``values``, first one
        first; a higher tie-break value ranks higher (missing ones lowest).
    ids : pandas.Series, optional
        Last tie-breaker (e.g. the customer id; default the index labels), compared as
        text, so the scores do not depend on row order.

    Returns
    -------
    pandas.Series
        Nullable ``Int64`` scores in 1..5, same index as ``values``; each of the five
        scores is used when at least five values are present.
    """
    numeric = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    present = ~np.isnan(numeric)
    n = int(present.sum())
    scores = pd.Series(pd.NA, index=values.index, dtype="Int64")
    if n == 0:
        return scores
    labels = (pd.Series(values.index, index=values.index) if ids is None else ids)
    label_rank = np.argsort(np.argsort(labels.astype(str).to_numpy()[present], kind="stable"),
                            kind="stable")
    keys: list[np.ndarray] = [label_rank.astype(float)]
    for extra in reversed(list(tiebreak)):
        col = pd.to_numeric(extra, errors="coerce").astype("float64").to_numpy()[present]
        keys.append(np.where(np.isnan(col), -np.inf, col))
    keys.append(-numeric[present] if reverse else numeric[present])
    order = np.lexsort(keys)  # last key is the primary one
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    score = np.clip(np.ceil(N_SCORES * rank / n - 1e-9), 1, N_SCORES).astype("int64")
    scores[present] = score
    return scores


def rfm_segment(r: pd.Series | np.ndarray, f: pd.Series | np.ndarray,
                m: pd.Series | np.ndarray) -> np.ndarray:
    """Named segment for each (R, F, M) triple of 1-5 scores (the R vs FM grid).

    Parameters
    ----------
    r, f, m : array-like of int
        Scores in 1..5.

    Returns
    -------
    numpy.ndarray
        Segment names (object dtype).
    """
    r_arr = np.asarray(r, dtype="int64")
    fm = (np.asarray(f, dtype="int64") + np.asarray(m, dtype="int64") + 1) // 2
    if r_arr.size and (r_arr.min() < 1 or r_arr.max() > N_SCORES or fm.min() < 1
                       or fm.max() > N_SCORES):
        raise ValueError("RFM scores must be integers in 1..5")
    grid = np.array(SEGMENT_GRID, dtype=object)
    return np.asarray(grid[r_arr - 1, fm - 1], dtype=object)


def score_rfm(profiles: pd.DataFrame) -> pd.DataFrame:
    """R, F, M scores, the cell code and the named segment for every customer.

    Parameters
    ----------
    profiles : pandas.DataFrame
        One row per customer with ``recency_days``, ``frequency`` and
        ``monetary`` (``customer_id`` is carried over when present).

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (if given), ``r_score``, ``f_score``,
        ``m_score`` (int), ``rfm_score`` (str, e.g. ``"545"``) and
        ``rfm_segment``; same index and order as ``profiles``.

    Raises
    ------
    SchemaError
        When a required column is missing.
    """
    missing = [c for c in RFM_COLUMNS if c not in profiles.columns]
    if missing:
        raise SchemaError(f"RFM scoring needs columns {list(RFM_COLUMNS)}; missing {missing}")
    freq = pd.to_numeric(profiles["frequency"], errors="coerce").fillna(0)
    buyer = (freq > 0) & profiles["recency_days"].notna()
    recency = pd.to_numeric(profiles["recency_days"], errors="coerce")
    money = pd.to_numeric(profiles["monetary"], errors="coerce")
    ids = profiles["customer_id"] if "customer_id" in profiles.columns else None
    r = quantile_score(recency.where(buyer), reverse=True, tiebreak=(freq, money), ids=ids)
    f = quantile_score(freq.where(buyer), tiebreak=(money, -recency), ids=ids)
    m = quantile_score(money.where(buyer), tiebreak=(freq, -recency), ids=ids)
    # Non-buyers (returns/cancellations only) are "lost" with the lowest scores.
    r, f, m = (s.fillna(1).astype("int64") for s in (r, f, m))
    out = pd.DataFrame(index=profiles.index)
    if "customer_id" in profiles.columns:
        out["customer_id"] = profiles["customer_id"]
    out["r_score"] = r
    out["f_score"] = f
    out["m_score"] = m
    out["rfm_score"] = r.astype(str) + f.astype(str) + m.astype(str)
    out["rfm_segment"] = rfm_segment(r, f, m)
    return out


def value_tiers(
    values: pd.Series,
    *,
    high_share: float = 0.2,
    medium_share: float = 0.3,
    high_threshold: float | None = None,
    medium_threshold: float | None = None,
) -> pd.Series:
    """Label each customer ``high`` / ``medium`` / ``low`` by value.

    Parameters
    ----------
    values : pandas.Series
        Value per customer (predicted CLV, or historical net monetary);
        missing values count as the lowest.
    high_share, medium_share : float
        Shares of customers, by descending rank, in the high and medium tiers
        (defaults: top 20% high, next 30% medium, the rest low).
    high_threshold, medium_threshold : float, optional
        Absolute thresholds instead of shares: ``value >= high_threshold`` is
        high, ``value >= medium_threshold`` medium. Give both or neither.

    Returns
    -------
    pandas.Series
        Tier names, same index as ``values``.

    Raises
    ------
    ConfigError
        On shares outside [0, 1] or summing above 1, only one threshold, or a
        medium threshold above the high one.
    """
    numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    if (high_threshold is None) != (medium_threshold is None):
        raise ConfigError("give both high_threshold and medium_threshold, or neither")
    if high_threshold is not None and medium_threshold is not None:
        if medium_threshold > high_threshold:
            raise ConfigError(f"medium_threshold {medium_threshold} is above high_threshold "
                              f"{high_threshold}")
        high = (numeric >= high_threshold).to_numpy()
        medium = (numeric >= medium_threshold).to_numpy()
    else:
        if not (0 <= high_share <= 1 and 0 <= medium_share <= 1
                and high_share + medium_share <= 1):
            raise ConfigError(f"tier shares must be in [0, 1] and sum to at most 1, got "
                              f"high={high_share}, medium={medium_share}")
        n = max(len(numeric), 1)
        pct = (numeric.fillna(-np.inf).rank(method="min", ascending=False) / n).to_numpy()
        high = pct <= high_share + 1e-12
        medium = pct <= high_share + medium_share + 1e-12
    tiers = np.where(high, "high", np.where(medium, "medium", "low"))
    return pd.Series(tiers, index=values.index, dtype=object)
