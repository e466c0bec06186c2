"""Behavioural segmentation: known-answer recovery, k selection, strategies, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from insightloop.errors import ConfigError, ModelFitError, NotFittedError, SchemaError
from insightloop.models.rfm import score_rfm
from insightloop.models.segmentation import (
    DEFAULT_FEATURES,
    CustomerSegmenter,
    describe_segments,
    prepare_features,
    recommend_strategy,
)

# recency, frequency, monetary, avg_order_value, tenure, inter_purchase (NaN = one-time buyers)
CENTERS = [(5, 20, 5000, 250, 400, 20), (60, 4, 400, 100, 300, 60), (300, 1, 40, 40, 310, np.nan)]


def _clusters(n: int = 80, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    parts, truth = [], []
    for i, center in enumerate(CENTERS):
        noise = np.exp(rng.normal(0, 0.05, size=(n, len(center))))
        block = pd.DataFrame(np.asarray(center) * noise, columns=list(DEFAULT_FEATURES))
        block["frequency"] = np.maximum(1, np.round(block["frequency"]))
        parts.append(block)
        truth += [i] * n
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "customer_id", [f"c{i:04d}" for i in range(len(frame))])
    return frame, np.asarray(truth)


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_well_separated_clusters_recovered(method: str) -> None:
    frame, truth = _clusters()
    seg = CustomerSegmenter(method=method, k_range=(2, 6)).fit(frame)
    assert seg.k_ == 3
    assert adjusted_rand_score(truth, seg.labels_) > 0.95
    assert set(seg.selection_) == {2, 3, 4, 5, 6}
    if method == "kmeans":
        assert seg.selection_metric_ == "silhouette"
        assert seg.selection_[3] == max(seg.selection_.values())
    else:
        assert seg.selection_metric_ == "bic"
        assert seg.selection_[3] == min(seg.selection_.values())
    # Segment 0 is the highest spender; predict reproduces the training labels.
    assert frame["monetary"][seg.labels_ == 0].mean() > frame["monetary"].mean()
    np.testing.assert_array_equal(seg.predict(frame), seg.labels_)


def test_fixed_k_and_seed_independent_ids() -> None:
    frame, _ = _clusters()
    a = CustomerSegmenter(k=3, random_state=0).fit(frame)
    b = CustomerSegmenter(k=3, random_state=7).fit(frame)
    assert a.selection_.keys() == {3}
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_describe_and_strategies() -> None:
    frame, _ = _clusters()
    seg = CustomerSegmenter(k=3).fit(frame)
    out = describe_segments(frame, seg.labels_, seg.transform(frame), score_rfm(frame),
                            frame["monetary"])
    assert out["size"].tolist() == [80, 80, 80]
    assert out["share"].sum() == pytest.approx(1.0)
    assert out["value_share"].sum() == pytest.approx(1.0)
    top, bottom = out.iloc[0], out.iloc[2]
    assert top["strategy"] == "retain"
    assert bottom["strategy"] == "reactivate"
    assert "recent (median 5 days vs 59, 100% of members)" in top["description"]
    assert "high frequency" in top["description"]
    # One-time buyers have no gap between orders: their tenure-imputed gap is not a trait.
    assert "gaps" not in bottom["description"]
    assert "lapsed (median 299 days vs 59, 100% of members)" in bottom["description"]
    assert out["name"].is_unique


def test_a_trait_most_members_lack_is_not_named() -> None:
    """61% one-time buyers imputed with a short tenure must not be "short gaps between orders"."""
    rng = np.random.default_rng(1)
    n = 200
    frame = pd.DataFrame({
        "customer_id": [f"c{i:04d}" for i in range(2 * n)],
        "recency_days": np.r_[rng.uniform(1, 20, n), rng.uniform(100, 300, n)],
        "frequency": np.r_[np.where(np.arange(n) < 122, 1, 3), rng.integers(2, 6, n)],
        "monetary": rng.uniform(100, 200, 2 * n),
        "avg_order_value": rng.uniform(40, 60, 2 * n),
        "tenure_days": np.r_[rng.uniform(5, 25, n), rng.uniform(300, 400, n)],
        "inter_purchase_days": np.r_[np.where(np.arange(n) < 122, np.nan, 8.0),
                                     rng.uniform(60, 90, n)],
    })
    labels = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    seg = CustomerSegmenter(k=2).fit(frame)
    out = describe_segments(frame, labels, seg.transform(frame), score_rfm(frame),
                            frame["monetary"])
    new = out.iloc[0]
    assert new["z_inter_purchase_days"] < -0.5  # the imputed gaps do look short ...
    assert "short gaps between orders" not in new["traits"]  # ... but 61% have no gap
    assert "one order only" in new["traits"]
    assert "61% of members" in new["description"]
    assert new["traits"][:2] == [w.strip() for w in new["name"].lower().split(",")][:2]


@pytest.mark.parametrize(("r", "fm", "share", "vshare", "expected"), [
    (4.5, 4.0, 0.2, 0.6, "retain"), (4.0, 1.5, 0.2, 0.05, "nurture"), (4.0, 3.0, 0.2, 0.2, "grow"),
    (1.5, 4.0, 0.1, 0.3, "win back"), (1.2, 1.5, 0.3, 0.05, "reactivate"),
    (3.0, 3.0, 0.2, 0.3, "upsell"), (3.0, 3.0, 0.3, 0.2, "grow"),
])
def test_strategy_rules(r: float, fm: float, share: float, vshare: float, expected: str) -> None:
    assert recommend_strategy([r], [fm], [share], [vshare]).tolist() == [expected]


def test_one_time_buyers_imputed_with_tenure() -> None:
    frame = pd.DataFrame({f: [1.0, 2.0] for f in DEFAULT_FEATURES})
    frame.loc[0, "inter_purchase_days"] = np.nan
    frame.loc[0, "tenure_days"] = 9.0
    frame.loc[1, "avg_order_value"] = np.nan
    x = prepare_features(frame, DEFAULT_FEATURES)
    assert x.loc[0, "inter_purchase_days"] == pytest.approx(np.log1p(9.0))
    assert x.loc[1, "avg_order_value"] == pytest.approx(np.log1p(1.0))  # median of the rest
    assert not x.isna().any().any()


def test_negative_monetary_is_signed_log() -> None:
    frame = pd.DataFrame({f: [1.0, 2.0] for f in DEFAULT_FEATURES})
    frame.loc[0, "monetary"] = -9.0
    assert prepare_features(frame, DEFAULT_FEATURES).loc[0, "monetary"] == \
        pytest.approx(-np.log1p(9.0))


def test_identical_customers_rejected() -> None:
    frame = pd.DataFrame({f: [3.0] * 25 for f in DEFAULT_FEATURES})
    with pytest.raises(ModelFitError, match="all 25 customers have identical features"):
        CustomerSegmenter().fit(frame)


def test_fewer_customers_than_k() -> None:
    frame, _ = _clusters(n=2)
    with pytest.raises(ModelFitError, match=r"fewer customers \(6, 6 distinct\) than k=8"):
        CustomerSegmenter(k=8).fit(frame)
    # Automatic k is capped at distinct customers - 1.
    assert CustomerSegmenter().fit(frame).k_ <= 5
    with pytest.raises(ModelFitError, match="pass k"):
        CustomerSegmenter().fit(frame.iloc[:2])


@pytest.mark.parametrize("kwargs", [{"method": "dbscan"}, {"k": 0}, {"k_range": (1, 4)}])
def test_bad_config(kwargs: dict[str, object]) -> None:
    frame, _ = _clusters(n=5)
    with pytest.raises(ConfigError):
        CustomerSegmenter(**kwargs).fit(frame)  # type: ignore[arg-type]


def test_missing_column_and_not_fitted() -> None:
    with pytest.raises(SchemaError, match="recency_days"):
        CustomerSegmenter().fit(pd.DataFrame({"frequency": [1, 2, 3]}))
    with pytest.raises(NotFittedError):
        CustomerSegmenter().predict(_clusters(n=3)[0])
