"""Golden tests: published CDNOW parameter estimates and the lifetimes summary convention."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insightloop.models.clv.bgnbd import BetaGeoModel
from insightloop.models.clv.data import summary_from_transactions
from insightloop.models.clv.gamma_gamma import GammaGammaModel
from shared_data import shared_path

CDNOW = shared_path("cdnow")
pytestmark = pytest.mark.skipif(not CDNOW.exists(),
                                reason=f"CDNOW data not available at {CDNOW}")


def _sig3(value: float, expected: float) -> None:
    assert float(f"{value:.3g}") == float(f"{expected:.3g}"), (value, expected)


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def summary_tx() -> pd.DataFrame:
    return pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv").set_index("ID")


@pytest.fixture(scope="module")
def sample_tx() -> pd.DataFrame:
    tx = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "sample_id", "date", "cds", "dollars"],
                     dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


def test_bgnbd_published_parameters(summary: pd.DataFrame) -> None:
    m = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
    for got, want in ((m.r_, 0.2426), (m.alpha_, 4.4135), (m.a_, 0.7929), (m.b_, 2.4258)):
        _sig3(got, want)
    assert m.log_likelihood_ == pytest.approx(-9582.43, abs=0.05)


def test_bgnbd_weights_equal_repeated_rows(summary: pd.DataFrame) -> None:
    grouped = summary.groupby(["frequency", "recency", "T"]).size().reset_index(name="w")
    a = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
    b = BetaGeoModel().fit(grouped["frequency"], grouped["recency"], grouped["T"],
                           weights=grouped["w"])
    np.testing.assert_allclose(list(a.params_.values()), list(b.params_.values()), rtol=1e-6)


def test_gamma_gamma_published_parameters(summary_tx: pd.DataFrame) -> None:
    g = GammaGammaModel().fit(summary_tx["x"], summary_tx["zbar"])
    assert g.n_customers_ == 946
    for got, want in ((g.p_, 6.25), (g.q_, 3.74), (g.v_, 15.45)):
        _sig3(got, want)


def test_summary_matches_published_summary(sample_tx: pd.DataFrame,
                                           summary_tx: pd.DataFrame,
                                           summary: pd.DataFrame) -> None:
    s = summary_from_transactions(sample_tx, "sample_id", "date", "dollars",
                                  calibration_end="1997-09-30", time_unit_days=7)
    assert len(s) == len(summary_tx) == 2357
    np.testing.assert_array_equal(s["frequency"].to_numpy(), summary["frequency"].to_numpy())
    np.testing.assert_allclose(s["recency"], summary["recency"], atol=0.006)
    np.testing.assert_allclose(s["T"], summary["T"], atol=0.006)
    np.testing.assert_allclose(s["monetary_value"], summary_tx["zbar"], atol=0.006)


def test_summary_fit_reproduces_published_parameters(sample_tx: pd.DataFrame) -> None:
    s = summary_from_transactions(sample_tx, "sample_id", "date", "dollars",
                                  calibration_end="1997-09-30", holdout_end="1998-06-30",
                                  time_unit_days=7)
    m = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    for got, want in ((m.r_, 0.2426), (m.alpha_, 4.4135), (m.a_, 0.7929), (m.b_, 2.4258)):
        assert got == pytest.approx(want, rel=2e-3)
    assert s["duration_holdout"].iloc[0] == pytest.approx(39.0)
    # conditional expectations agree with the lifetimes implementation's known values
    pred = m.expected_purchases(39, s["frequency"], s["recency"], s["T"])
    assert pred[:2] == pytest.approx([1.2259, 0.2033], abs=2e-3)


# lifetimes 0.11.3 `summary` on the same file (coef, se(coef)), 5 decimals as it prints them
LIFETIMES_SUMMARY = {
    "BetaGeoModel": {"r": (0.24259, 0.01256), "alpha": (4.41353, 0.37822),
                     "a": (0.79289, 0.18572), "b": (2.42575, 0.70535)},
    "ModifiedBetaGeoModel": {"r": (0.52484, 0.08326), "alpha": (6.18299, 0.69560),
                             "a": (0.89136, 0.15479), "b": (1.61400, 0.53747)},
}


@pytest.mark.parametrize("name", sorted(LIFETIMES_SUMMARY))
def test_standard_errors_match_lifetimes(summary: pd.DataFrame, name: str) -> None:
    from insightloop.models.clv import ModifiedBetaGeoModel

    cls = {"BetaGeoModel": BetaGeoModel, "ModifiedBetaGeoModel": ModifiedBetaGeoModel}[name]
    got = cls().fit(summary["frequency"], summary["recency"], summary["T"]).summary()
    for param, (coef, se) in LIFETIMES_SUMMARY[name].items():
        row = got[param]
        assert row["coef"] == pytest.approx(coef, abs=6e-5), param
        assert row["se"] == pytest.approx(se, abs=6e-5), param
        assert row["lower_95"] == pytest.approx(coef - 1.96 * se, abs=2e-4), param
