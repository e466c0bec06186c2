"""RFM scores, the R vs FM segment grid, and value tiers on hand-made known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insightloop.errors import ConfigError, SchemaError
from insightloop.models.rfm import (
    SEGMENT_GRID,
    SEGMENTS,
    quantile_score,
    rfm_segment,
    score_rfm,
    value_tiers,
)


def _frame(n: int = 10) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "recency_days": np.arange(1, n + 1, dtype=float),   # c0 most recent
        "frequency": np.arange(1, n + 1),                    # c9 most frequent
        "monetary": np.arange(n, 0, -1) * 10.0,              # c0 spends most
    })


def test_quintiles_on_distinct_values() -> None:
    out = score_rfm(_frame())
    assert out["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert out["f_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert out["m_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert out["rfm_score"].iloc[0] == "515"
    assert out["customer_id"].tolist() == _frame()["customer_id"].tolist()


def test_ties_are_broken_by_the_tiebreaker_then_the_id_and_order_does_not_matter() -> None:
    values = pd.Series([1, 1, 1, 1, 1, 1, 2, 3, 4, 5])
    spend = pd.Series([60.0, 10, 50, 20, 40, 30, 0, 0, 0, 0])
    # The six one-order customers are ordered by spend: 10, 20, 30, 40, 50, 60.
    assert quantile_score(values, tiebreak=(spend,)).tolist() == [3, 1, 3, 1, 2, 2, 4, 4, 5, 5]
    # Without a tie-breaker the row label decides (as text): still every score is used.
    assert quantile_score(values).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    order = np.random.default_rng(3).permutation(10)
    shuffled = quantile_score(values.iloc[order], tiebreak=(spend.iloc[order],))
    assert shuffled.sort_index().tolist() == quantile_score(values, tiebreak=(spend,)).tolist()


def test_constant_column_still_uses_every_score() -> None:
    out = quantile_score(pd.Series([7.0] * 8))
    assert sorted(set(out.tolist())) == [1, 2, 3, 4, 5]
    assert out.tolist() == sorted(out.tolist())  # ids 0..7 in order


def test_heavily_tied_frequency_uses_every_f_score() -> None:
    n = 100
    frame = pd.DataFrame({
        "customer_id": [f"c{i:03d}" for i in range(n)],
        "recency_days": np.arange(n, dtype=float) % 30,
        "frequency": np.where(np.arange(n) < 70, 1, np.arange(n) // 10),  # 70% buy once
        "monetary": (np.arange(n) * 7 % 100).astype(float),
    })
    out = score_rfm(frame)
    for col in ("r_score", "f_score", "m_score"):
        assert out[col].value_counts().reindex(range(1, 6)).tolist() == [20] * 5, col
    # A one-order customer never outranks a repeat buyer on F.
    assert out["f_score"][frame["frequency"] == 1].max() <= \
        out["f_score"][frame["frequency"] > 1].min()


@pytest.mark.parametrize(("r", "f", "m", "name"), [
    (5, 5, 5, "champions"), (5, 4, 4, "champions"), (4, 5, 4, "loyal"), (3, 4, 5, "loyal"),
    (5, 2, 3, "potential loyalist"), (4, 2, 2, "potential loyalist"),
    (5, 1, 1, "new customers"), (4, 1, 1, "promising"), (3, 3, 3, "need attention"),
    (3, 1, 2, "about to sleep"), (2, 3, 4, "at risk"), (1, 4, 3, "at risk"),
    (2, 5, 5, "cannot lose them"), (1, 5, 4, "cannot lose them"),
    (2, 1, 1, "hibernating"), (1, 2, 2, "hibernating"), (1, 1, 1, "lost"),
])
def test_segment_grid(r: int, f: int, m: int, name: str) -> None:
    assert rfm_segment([r], [f], [m]).tolist() == [name]


def test_grid_uses_every_named_segment() -> None:
    assert {s for row in SEGMENT_GRID for s in row} == set(SEGMENTS)
    assert len(SEGMENTS) == 11


def test_out_of_range_scores_rejected() -> None:
    with pytest.raises(ValueError, match=r"1\.\.5"):
        rfm_segment([6], [1], [1])


def test_non_buyer_is_lost_and_not_ranked() -> None:
    base = _frame()
    extra = pd.DataFrame({"customer_id": ["ret"], "recency_days": [np.nan], "frequency": [0],
                          "monetary": [-50.0]})
    out = score_rfm(pd.concat([base, extra], ignore_index=True))
    assert out.iloc[-1][["r_score", "f_score", "m_score", "rfm_segment"]].tolist() == \
        [1, 1, 1, "lost"]
    pd.testing.assert_frame_equal(out.iloc[:-1], score_rfm(base))


def test_missing_columns() -> None:
    with pytest.raises(SchemaError, match="monetary"):
        score_rfm(pd.DataFrame({"recency_days": [1.0], "frequency": [1]}))


def test_value_tiers_by_share() -> None:
    values = pd.Series(np.arange(1, 11, dtype=float))
    tiers = value_tiers(values)
    assert tiers.tolist() == ["low"] * 5 + ["medium"] * 3 + ["high"] * 2
    assert value_tiers(values, high_share=0.1, medium_share=0.1).value_counts().to_dict() == \
        {"low": 8, "high": 1, "medium": 1}


def test_value_tiers_ties_and_missing() -> None:
    values = pd.Series([5.0, 5.0, 5.0, 1.0, np.nan])
    # 5.0 tie holds ranks 1-3: all of them get the better tier; NaN counts lowest.
    assert value_tiers(values, high_share=0.2, medium_share=0.4).tolist() == \
        ["high", "high", "high", "low", "low"]


def test_value_tiers_absolute_thresholds() -> None:
    values = pd.Series([0.0, 99.9, 100.0, 500.0, 1000.0])
    assert value_tiers(values, high_threshold=1000, medium_threshold=100).tolist() == \
        ["low", "low", "medium", "medium", "high"]


@pytest.mark.parametrize("kwargs", [
    {"high_share": 0.7, "medium_share": 0.5}, {"high_share": -0.1},
    {"high_threshold": 10.0}, {"high_threshold": 1.0, "medium_threshold": 5.0},
])
def test_value_tiers_bad_config(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        value_tiers(pd.Series([1.0, 2.0]), **kwargs)  # type: ignore[arg-type]
