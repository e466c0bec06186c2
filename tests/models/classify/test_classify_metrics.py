"""Known-answer checks of the classification metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from insightloop.errors import ModelFitError
from insightloop.models.classify.metrics import (
    auc,
    best_f1_threshold,
    calibration_table,
    classification_report,
    gains_table,
    logloss,
    pr_auc,
    threshold_metrics,
)

Y = np.array([0, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8])


def test_auc_pr_auc_logloss_known_values() -> None:
    assert auc(Y, P) == pytest.approx(0.75)  # 3 of 4 positive/negative pairs ordered
    # ranks: 0.8(+) 0.4(-) 0.35(+) 0.1(-): AP = (1/1 + 2/3) / 2
    assert pr_auc(Y, P) == pytest.approx((1 + 2 / 3) / 2)
    expected = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert logloss(Y, P) == pytest.approx(expected)


def test_threshold_metrics_and_best_f1() -> None:
    m = threshold_metrics(Y, P, 0.35)
    assert (m["precision"], m["recall"]) == (pytest.approx(2 / 3), 1.0)
    assert m["f1"] == pytest.approx(0.8)
    # candidates: 0.8 -> F1 2/3, 0.4 -> 0.5, 0.35 -> 0.8, 0.1 -> 2/3
    assert best_f1_threshold(Y, P) == pytest.approx(0.35)


def test_gains_and_lift_by_decile() -> None:
    y = np.r_[np.ones(10), np.zeros(90)].astype(int)
    p = np.linspace(1, 0, 100)  # the 10 positives have the 10 highest scores
    g = gains_table(y, p)
    assert g["n"].tolist() == [10] * 10
    assert g["lift"].iloc[0] == pytest.approx(10.0)
    assert g["cum_share_positives"].iloc[0] == pytest.approx(1.0)
    assert g["lift"].iloc[1:].eq(0).all()
    rep = classification_report(y, p, threshold=0.5)
    assert rep["lift_top_decile"] == pytest.approx(10.0) and rep["auc"] == pytest.approx(1.0)


def test_calibration_table_bins() -> None:
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1, 0, 1])
    p = np.arange(10) / 10
    cal = calibration_table(y, p, bins=2)
    assert cal["observed"].tolist() == [pytest.approx(0.4), pytest.approx(0.8)]
    assert cal["mean_predicted"].tolist() == [pytest.approx(0.2), pytest.approx(0.7)]


def test_one_class_is_an_error() -> None:
    with pytest.raises(ModelFitError, match="both classes"):
        auc(np.ones(5), np.linspace(0, 1, 5))
