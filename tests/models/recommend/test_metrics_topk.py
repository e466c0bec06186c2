"""Known-answer tests: ranking metrics computed by hand, top-k ties and exclusion."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from insightloop.errors import ConfigError
from insightloop.models.recommend.metrics import ranking_metrics
from insightloop.models.recommend.split import split_interactions
from insightloop.models.recommend.topk import mask_rows, top_k


def _rel(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    r = np.repeat(np.arange(len(rows)), [len(x) for x in rows])
    c = np.concatenate([np.array(x, dtype=int) for x in rows]) if r.size else np.array([], int)
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(rows), n_items))


def test_metrics_one_user_by_hand() -> None:
    # ranked [0, 1, 2], relevant {1, 3}: one hit at rank 2
    m = ranking_metrics(np.array([[0, 1, 2]]), _rel([[1, 3]], 5), k=3, n_items=5)
    assert m["precision@3"] == pytest.approx(1 / 3)
    assert m["recall@3"] == pytest.approx(1 / 2)
    assert m["ndcg@3"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert m["map@3"] == pytest.approx((1 / 2) / 2)
    assert m["coverage"] == pytest.approx(3 / 5)


def test_metrics_average_users_and_skip_users_without_relevant() -> None:
    rec = np.array([[2, 0, -1], [1, 2, 3], [0, 1, 2]])
    rel = _rel([[2, 0], [4], []], 5)  # user 3 has nothing held out: not evaluated
    m = ranking_metrics(rec, rel, k=3)
    # user 1: hits at ranks 1, 2 of 2 relevant -> p 2/3, r 1, ndcg 1, ap (1 + 1) / 2 = 1
    # user 2: no hit -> 0 everywhere
    assert m["precision@3"] == pytest.approx((2 / 3) / 2)
    assert m["recall@3"] == pytest.approx(0.5)
    assert m["ndcg@3"] == pytest.approx(0.5)
    assert m["map@3"] == pytest.approx(0.5)
    assert "coverage" not in m


def test_map_divides_by_all_relevant_items() -> None:
    # hits at ranks 1 and 3 of 4 relevant: (1/1 + 2/3) / 4
    m = ranking_metrics(np.array([[5, 0, 6]]), _rel([[5, 6, 7, 8]], 10), k=3)
    assert m["map@3"] == pytest.approx((1 + 2 / 3) / 4)
    idcg = sum(1 / math.log2(r + 1) for r in (1, 2, 3))
    assert m["ndcg@3"] == pytest.approx((1 + 1 / math.log2(4)) / idcg)


def test_top_k_ties_break_by_item_index_and_skip_excluded() -> None:
    scores = np.array([[0.5, 0.9, 0.5, 0.5, 0.1], [1.0, 1.0, 1.0, 1.0, 1.0]])
    seen = sp.csr_matrix(np.array([[0, 1, 0, 0, 0], [1, 1, 1, 1, 0]]))
    mask_rows(scores, seen, np.array([3]))
    idx, val = top_k(scores, 3)
    assert idx.tolist() == [[0, 2, 4], [4, -1, -1]]
    assert val[0].tolist() == [0.5, 0.5, 0.1]
    assert np.isnan(val[1, 1:]).all()


def test_top_k_never_returns_nan_or_minus_inf() -> None:
    idx, _ = top_k(np.array([[np.nan, -np.inf, 2.0]]), 3)
    assert idx.tolist() == [[2, -1, -1]]


def test_stratified_split_per_user_and_seeded() -> None:
    frame = pd.DataFrame({"user": np.repeat(["a", "b", "c"], [8, 4, 1]),
                          "item": [str(i) for i in range(13)], "weight": 1.0})
    train, test = split_interactions(frame, "stratified", 0.25, seed=7)
    assert train.groupby("user").size().to_dict() == {"a": 6, "b": 3, "c": 1}
    assert test.groupby("user").size().to_dict() == {"a": 2, "b": 1}
    assert set(train["item"]).isdisjoint(test["item"])
    again, _ = split_interactions(frame, "stratified", 0.25, seed=7)
    other, _ = split_interactions(frame, "stratified", 0.25, seed=8)
    assert again.equals(train)
    assert not other["item"].sort_values().reset_index(drop=True).equals(
        train["item"].sort_values().reset_index(drop=True))


def test_leave_last_and_temporal_splits() -> None:
    t = pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02", "2024-01-05", "2024-01-04"])
    frame = pd.DataFrame({"user": ["a", "a", "a", "b", "c"], "item": list("vwxyz"),
                          "weight": 1.0, "time": t})
    _, test = split_interactions(frame, "leave-last")
    assert test["item"].tolist() == ["w"]  # b and c have one interaction each
    train, test = split_interactions(frame, "temporal", 0.4)
    assert sorted(test["item"]) == ["y", "z"] and train["time"].max() < test["time"].min()
    with pytest.raises(ConfigError, match="time column"):
        split_interactions(frame.drop(columns="time"), "temporal")
    with pytest.raises(ConfigError, match="unknown split"):
        split_interactions(frame, "random")
