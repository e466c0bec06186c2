"""Behavioural segmentation of customer profiles: K-means or a Gaussian mixture.

Features
--------
By default :data:`DEFAULT_FEATURES` of the profile table. Preparation, learned
in ``fit`` and reapplied in ``predict``:

1. **Missing values.** ``inter_purchase_days`` is null for one-time buyers:
   it is set to the customer's ``tenure_days`` (they have gone that long
   without a second order, a lower bound of their gap). Any other missing
   value (e.g. ``avg_order_value`` of a customer with returns only) becomes
   the column median learned in ``fit`` (0 when the column is all null).
2. **Skew.** Money, counts and day spans (:data:`LOG_FEATURES`) go through a
   signed ``log1p`` (``sign(x) * log1p(|x|)``; net monetary can be negative).
3. **Robust scaling.** ``(x - median) / IQR``; a zero IQR falls back to the
   standard deviation, and a constant column to 1 (it then contributes
   nothing). Scaled values are clipped to ``[-CLIP, CLIP]`` (5) so that a
   handful of extreme customers cannot become a segment of their own.

``return_rate`` is not a default feature: it is 0 for most customers, so any
scaling turns the few customers with returns into outliers that dominate the
clustering. Pass it in ``features`` to use it anyway.

Choosing k
----------
``method="kmeans"``: K-means (``n_init`` restarts, fixed ``random_state``) for
every k in ``k_range`` (default 2..8, capped at the number of distinct
customers minus one); k with the highest silhouette wins (silhouette on a
random sample of ``silhouette_sample`` customers when there are more).
``method="gmm"``: a full-covariance Gaussian mixture per k; lowest BIC wins.
``selection_`` holds the score per k. Segments are numbered by descending
mean ``monetary`` (segment 0 spends most), so ids do not depend on the seed.

Descriptions and strategies
---------------------------
:func:`describe_segments` states each segment's size, share of customers,
share of value, and its distinguishing features. A feature is a candidate when
its segment mean (on the prepared scale) differs from the population mean by at
least ``0.5`` population standard deviations (largest first); it becomes a trait
of the name and description only when **most members** (more than
:data:`MAJORITY`) have the property it claims, measured on the members' own
values before imputation:

* "high X" / "low X": the member's value is above / below the population median
  (over customers that have a value);
* "short gaps between orders" / "long gaps between orders": the member has a
  second order (one-time buyers have no gap) and a gap below / above the median
  gap of repeat buyers;
* "one order only" (the low side of frequency when most members bought once):
  the member has exactly one order.

So a segment of mostly one-time buyers is never called "short gaps between
orders" (a tenure-imputed gap is a clustering aid, not a fact about them). Each
trait says its medians and the share of members that have it
(``"recent (median 12 days vs 50, 81% of members)"``). Strategies follow
:func:`recommend_strategy` from the segment's mean RFM scores and value share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture

from insightloop.errors import ConfigError, ModelFitError, NotFittedError, SchemaError

DEFAULT_FEATURES: tuple[str, ...] = (
    "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days",
    "inter_purchase_days",
)
LOG_FEATURES = frozenset({
    "recency_days", "frequency", "monetary", "gross_revenue", "avg_order_value",
    "tenure_days", "inter_purchase_days", "n_orders", "n_items", "n_lines", "n_returns",
    "n_events",
})
METHODS = ("kmeans", "gmm")
Z_THRESHOLD = 0.5
CLIP = 5.0
MAX_TRAITS = 3
#: A trait names a segment only when more than this share of its members have it.
MAJORITY = 0.5
ONE_ORDER = "one order only"

# feature -> (word when high, word when low, unit)
FEATURE_WORDS: dict[str, tuple[str, str, str]] = {
    "recency_days": ("lapsed", "recent", "days"),
    "frequency": ("high frequency", "low frequency", "orders"),
    "monetary": ("high spend", "low spend", ""),
    "gross_revenue": ("high gross spend", "low gross spend", ""),
    "avg_order_value": ("large baskets", "small baskets", "per order"),
    "tenure_days": ("long-standing", "newly acquired", "days"),
    "inter_purchase_days": ("long gaps between orders", "short gaps between orders", "days"),
    "return_rate": ("many returns", "few returns", ""),
    "n_items": ("many items", "few items", "items"),
    "n_events": ("very active online", "little online activity", "events"),
}

STRATEGIES: dict[str, str] = {
    "retain": "reward and keep: loyalty perks, early access, no discounts needed",
    "nurture": "onboard towards a second and third order: welcome series, recommendations",
    "grow": "raise frequency: cross-sell, replenishment reminders, bundles",
    "upsell": "raise basket value: premium ranges, volume offers",
    "win back": "valuable but lapsing: personal win-back offer before they are lost",
    "reactivate": "low-cost reactivation campaign; suppress if it stays unanswered",
}


def recommend_strategy(r: np.ndarray | pd.Series, fm: np.ndarray | pd.Series,
                       share: np.ndarray | pd.Series,
                       value_share: np.ndarray | pd.Series) -> np.ndarray:
    """Strategy per segment from mean R score, mean (F+M)/2 score and shares.

    Rules, first match wins (scores on the 1-5 RFM scale):

    ========================================  ===========
    condition                                 strategy
    ========================================  ===========
    R >= 3.5 and FM >= 3.5                    retain
    R >= 3.5 and FM < 2.5                     nurture
    R >= 3.5                                  grow
    R < 2.5 and FM >= 3                       win back
    R < 2.5                                   reactivate
    value share >= customer share             upsell
    otherwise                                 grow
    ========================================  ===========
    """
    r_a, fm_a = np.asarray(r, dtype=float), np.asarray(fm, dtype=float)
    rich = np.asarray(value_share, dtype=float) >= np.asarray(share, dtype=float)
    return np.select(
        [(r_a >= 3.5) & (fm_a >= 3.5), (r_a >= 3.5) & (fm_a < 2.5), r_a >= 3.5,
         (r_a < 2.5) & (fm_a >= 3), r_a < 2.5, rich],
        ["retain", "nurture", "grow", "win back", "reactivate", "upsell"],
        default="grow",
    ).astype(object)


def _base(frame: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """Numeric features with ``inter_purchase_days`` of one-time buyers set to tenure."""
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise SchemaError(f"segmentation needs profile columns {missing}; rebuild profiles "
                          "(`insightloop profiles build`)")
    x = frame.loc[:, list(features)].apply(pd.to_numeric, errors="coerce").astype("float64")
    if "inter_purchase_days" in x and "tenure_days" in frame:
        x["inter_purchase_days"] = x["inter_purchase_days"].fillna(
            pd.to_numeric(frame["tenure_days"], errors="coerce"))
    return x


def fill_values(frame: pd.DataFrame, features: Sequence[str]) -> dict[str, float]:
    """Median per feature after the tenure imputation (0 for an all-null column)."""
    return {str(c): float(v) for c, v in _base(frame, features).median().fillna(0.0).items()}


def prepare_raw(frame: pd.DataFrame, features: Sequence[str],
                fill: dict[str, float] | None = None) -> pd.DataFrame:
    """Features on their original scale, imputed (step 1 of the module doc)."""
    return _base(frame, features).fillna(fill or fill_values(frame, features))


def prepare_features(frame: pd.DataFrame, features: Sequence[str],
                     fill: dict[str, float] | None = None) -> pd.DataFrame:
    """Impute and log-transform profile features (steps 1-2 of the module doc).

    Parameters
    ----------
    frame : pandas.DataFrame
        Profiles with the ``features`` columns.
    features : sequence of str
        Columns to use.
    fill : dict, optional
        Value per column for missing entries; default the column medians.
    """
    x = prepare_raw(frame, features, fill)
    logs = [c for c in x.columns if c in LOG_FEATURES]
    x[logs] = np.sign(x[logs]) * np.log1p(x[logs].abs())
    return x


class CustomerSegmenter(ClusterMixin, BaseEstimator):  # type: ignore[misc]
    """Segment customers by behaviour with automatic choice of k.

    Parameters
    ----------
    method : {"kmeans", "gmm"}
        K-means chosen by silhouette, or Gaussian mixture chosen by BIC.
    k : int, optional
        Fixed number of segments; default chosen over ``k_range``.
    k_range : tuple of int
        Inclusive range of k tried when ``k`` is None.
    features : sequence of str
        Profile columns used.
    random_state : int
        Seed for K-means / GMM initialisation and silhouette sampling.
    n_init : int
        Restarts per fit.
    silhouette_sample : int
        Silhouette is computed on at most this many customers.

    Attributes
    ----------
    k_ : int
        Chosen number of segments.
    selection_ : dict of int to float
        Silhouette (kmeans, higher is better) or BIC (gmm, lower is better) per k tried.
    selection_metric_ : str
    selection_score_ : float
        The score of the chosen k.
    labels_ : numpy.ndarray
        Segment id per training customer (0 = highest mean monetary).
    fill_, center_, scale_ : learned preparation (see module doc).
    model_ : KMeans or GaussianMixture
    """

    def __init__(self, method: str = "kmeans", k: int | None = None,
                 k_range: tuple[int, int] = (2, 8),
                 features: Sequence[str] = DEFAULT_FEATURES, random_state: int = 0,
                 n_init: int = 10, silhouette_sample: int = 5000) -> None:
        self.method = method
        self.k = k
        self.k_range = k_range
        self.features = features
        self.random_state = random_state
        self.n_init = n_init
        self.silhouette_sample = silhouette_sample

    # -- preparation -------------------------------------------------------------------
    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        x = prepare_features(frame, self.features, self.fill_)
        scaled = ((x - self.center_) / self.scale_).to_numpy()
        return np.clip(np.asarray(scaled, dtype=float), -CLIP, CLIP)

    def _fit_scaler(self, frame: pd.DataFrame) -> np.ndarray:
        self.fill_ = fill_values(frame, self.features)
        x = prepare_features(frame, self.features, self.fill_)
        iqr = x.quantile(0.75) - x.quantile(0.25)
        scale = iqr.where(iqr > 1e-12, x.std(ddof=0).fillna(0.0))
        self.center_ = x.median()
        self.scale_ = scale.where(scale > 1e-12, 1.0)
        return self._matrix(frame)

    def _cluster(self, k: int) -> KMeans | GaussianMixture:
        if self.method == "kmeans":
            return KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state)
        return GaussianMixture(n_components=k, covariance_type="full", n_init=3,
                               random_state=self.random_state, reg_covar=1e-4)

    def _score(self, x: np.ndarray, model: KMeans | GaussianMixture,
               labels: np.ndarray) -> float:
        if self.method == "gmm":
            return float(model.bic(x))
        if len(np.unique(labels)) < 2:
            return -1.0
        sample = min(len(x), self.silhouette_sample)
        return float(silhouette_score(x, labels, sample_size=sample if sample < len(x) else None,
                                      random_state=self.random_state))

    # -- API ---------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame) -> CustomerSegmenter:
        """Prepare features, choose k and cluster; returns self.

        Raises
        ------
        ConfigError
            Unknown method or a bad k / k_range.
        ModelFitError
            All customers identical, or fewer (distinct) customers than k.
        """
        if self.method not in METHODS:
            raise ConfigError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.k is not None and self.k < 1:
            raise ConfigError(f"k must be at least 1, got {self.k}")
        lo, hi = self.k_range
        if not 2 <= lo <= hi:
            raise ConfigError(f"k_range must satisfy 2 <= low <= high, got {self.k_range}")
        n = len(frame)
        if n == 0:
            raise ModelFitError("no customers to segment; build profiles first")
        x = self._fit_scaler(frame)
        distinct = len(np.unique(x.round(9), axis=0))
        if distinct == 1:
            raise ModelFitError(f"all {n} customers have identical features; cannot segment")
        if self.k is not None:
            if self.k > distinct:
                raise ModelFitError(
                    f"fewer customers ({n}, {distinct} distinct) than k={self.k}; "
                    "ask for fewer segments")
            ks = [self.k]
        else:
            hi = min(hi, distinct - 1)
            if hi < lo:
                raise ModelFitError(
                    f"only {n} customers ({distinct} distinct): need at least {lo + 1} distinct "
                    f"customers to choose k automatically; pass k")
            ks = list(range(lo, hi + 1))
        fits: dict[int, tuple[Any, np.ndarray]] = {}
        self.selection_ = {}
        for k in ks:
            model = self._cluster(k).fit(x)
            labels = np.asarray(model.predict(x))
            fits[k] = (model, labels)
            self.selection_[k] = self._score(x, model, labels) if k > 1 else float("nan")
        self.selection_metric_ = "bic" if self.method == "gmm" else "silhouette"
        if len(ks) == 1:
            best = ks[0]
        elif self.method == "gmm":
            best = min(ks, key=lambda k: self.selection_[k])
        else:
            best = max(ks, key=lambda k: self.selection_[k])
        self.k_ = best
        self.selection_score_ = self.selection_[best]
        self.model_, raw = fits[best]
        # Number segments by descending mean monetary (ties: by raw label) -> seed-independent ids.
        money = pd.to_numeric(frame["monetary"], errors="coerce").to_numpy() \
            if "monetary" in frame else x[:, 0]
        means = pd.Series(money).groupby(raw).mean().reindex(range(best)).fillna(-np.inf)
        order = sorted(range(best), key=lambda c: (-means[c], c))
        self.relabel_ = np.empty(best, dtype=int)
        self.relabel_[order] = np.arange(best)
        self.labels_ = self.relabel_[raw]
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Segment id for each row of ``frame`` (prepared with the fitted parameters)."""
        if not hasattr(self, "model_"):
            raise NotFittedError("CustomerSegmenter is not fitted; call fit first")
        return np.asarray(self.relabel_[np.asarray(self.model_.predict(self._matrix(frame)))])

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Prepared, robust-scaled features (the space the clusters live in)."""
        if not hasattr(self, "center_"):
            raise NotFittedError("CustomerSegmenter is not fitted; call fit first")
        return pd.DataFrame(self._matrix(frame), columns=list(self.features), index=frame.index)


def trait_flags(profiles: pd.DataFrame, features: Sequence[str]
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per customer, whether each feature is above / below the population median.

    Values are the customers' own (no imputation: a one-time buyer has no
    ``inter_purchase_days`` and is neither above nor below). Returns ``(high, low)``
    boolean frames with one column per feature; for ``frequency`` the low flag is
    "exactly one order" when the median is one order (nobody is below it).
    """
    raw = _own_values(profiles, features)
    median = raw.median()
    high, low = raw.gt(median), raw.lt(median)
    if "frequency" in raw and median.get("frequency", np.nan) <= 1:
        low["frequency"] = raw["frequency"].eq(1)
    return high, low


def _own_values(profiles: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """The features as numbers, missing values kept missing."""
    return profiles.loc[:, list(features)].apply(pd.to_numeric, errors="coerce"
                                                 ).astype("float64")


def _trait(feature: str, z: float, seg_median: float, pop_median: float, share: float,
           one_order: bool) -> str:
    high, low, unit = FEATURE_WORDS.get(feature, (f"high {feature}", f"low {feature}", ""))
    word = ONE_ORDER if one_order else (high if z > 0 else low)
    if feature == "return_rate":
        return f"{word} (median {seg_median:.0%} vs {pop_median:.0%}, {share:.0%} of members)"
    fmt = ",.0f" if max(abs(seg_median), abs(pop_median)) >= 10 else ",.1f"
    unit = f" {unit}" if unit else ""
    return (f"{word} (median {seg_median:{fmt}}{unit} vs {pop_median:{fmt}}, "
            f"{share:.0%} of members)")


def describe_segments(profiles: pd.DataFrame, labels: np.ndarray, scaled: pd.DataFrame,
                      rfm: pd.DataFrame, value: pd.Series) -> pd.DataFrame:
    """Plain-words description and strategy of each segment.

    Parameters
    ----------
    profiles : pandas.DataFrame
        Raw profiles (medians and member shares in the descriptions are on this scale).
    labels : numpy.ndarray
        Segment id per row.
    scaled : pandas.DataFrame
        Prepared features (e.g. :meth:`CustomerSegmenter.transform`); the
        z-score differences are computed on them.
    rfm : pandas.DataFrame
        ``r_score``, ``f_score``, ``m_score`` per row (:func:`~insightloop.models.rfm.score_rfm`).
    value : pandas.Series
        Customer value (CLV or monetary); negatives count as 0 for value share.

    Returns
    -------
    pandas.DataFrame
        One row per segment: ``segment_id``, ``name``, ``size``, ``share``,
        ``value_share``, ``description``, ``strategy``, ``mean_r``, ``mean_fm``,
        ``traits`` (the trait words of the name and description, each held by most
        members), plus ``z_<feature>`` (segment mean minus population mean, in
        population SDs).
    """
    labels = np.asarray(labels)
    n = len(labels)
    features = list(scaled.columns)
    z_all = (scaled - scaled.mean()) / scaled.std(ddof=0).replace(0.0, 1.0)
    own = _own_values(profiles, features).reset_index(drop=True)
    pop_median = own.median()
    high, low = (f.reset_index(drop=True) for f in trait_flags(profiles, features))
    share_high, share_low = high.groupby(labels).mean(), low.groupby(labels).mean()
    one_order = (own["frequency"].eq(1).groupby(labels).mean() if "frequency" in own
                 else pd.Series(0.0, index=np.unique(labels)))  # share with a single order
    val = pd.Series(np.clip(pd.to_numeric(value, errors="coerce").fillna(0.0).to_numpy(), 0,
                            None))
    total_value = float(val.sum())
    grouped_z = z_all.reset_index(drop=True).groupby(labels).mean()
    seg_median = own.groupby(labels).median()
    sizes = pd.Series(labels).value_counts().sort_index()
    value_by = val.groupby(labels).sum()
    r = pd.Series(rfm["r_score"].to_numpy(dtype=float)).groupby(labels).mean()
    fm = pd.Series((rfm["f_score"].to_numpy(dtype=float) + rfm["m_score"].to_numpy(dtype=float))
                   / 2).groupby(labels).mean()
    out = pd.DataFrame({"segment_id": sizes.index.astype(int), "size": sizes.to_numpy()})
    out["share"] = out["size"] / n
    out["value_share"] = (value_by.reindex(sizes.index).to_numpy() / total_value
                          if total_value > 0 else 0.0)
    out["mean_r"] = r.reindex(sizes.index).to_numpy()
    out["mean_fm"] = fm.reindex(sizes.index).to_numpy()
    out["strategy"] = recommend_strategy(out["mean_r"], out["mean_fm"], out["share"],
                                         out["value_share"])
    names, descriptions, kept_words = [], [], []
    # One row per segment (k <= 8): this loop is over segments, not customers.
    for seg in sizes.index:
        zs = grouped_z.loc[seg]
        ranked = zs[zs.abs() >= Z_THRESHOLD].abs().sort_values(ascending=False).index
        traits = []
        for f in ranked:
            single = f == "frequency" and zs[f] < 0 and one_order.loc[seg] > MAJORITY
            share = float(one_order.loc[seg] if single else
                          (share_high if zs[f] > 0 else share_low).loc[seg, f])
            if share <= MAJORITY:  # most members do not have it: not a trait of the segment
                continue
            traits.append(_trait(f, float(zs[f]), float(seg_median.loc[seg, f]),
                                 float(pop_median[f]), share, single))
            if len(traits) == MAX_TRAITS:
                break
        words = [t.split(" (")[0] for t in traits]
        kept_words.append(words)
        names.append(", ".join(words[:2]).capitalize() if words else "Typical customers")
        row = out.loc[out["segment_id"] == seg].iloc[0]
        descriptions.append(
            f"{int(row['size']):,} customers ({row['share']:.0%}) holding "
            f"{row['value_share']:.0%} of value"
            + (": " + "; ".join(traits) if traits else "; close to the average customer"))
    out["name"] = _unique(names)
    out["description"] = descriptions
    out["traits"] = kept_words
    for f in scaled.columns:
        out[f"z_{f}"] = grouped_z[f].reindex(sizes.index).to_numpy()
    first = ["segment_id", "name", "size", "share", "value_share", "description", "strategy"]
    return out[first + [c for c in out.columns if c not in first]]


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out
