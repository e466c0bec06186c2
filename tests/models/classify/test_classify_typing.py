"""Column typing and encoding: kinds, dropped columns, unseen levels, bad scoring data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from insightloop.errors import FeatureMismatchError, ModelFitError
from insightloop.models.classify.typing import (
    MISSING,
    OTHER,
    DataQualityWarning,
    TableEncoder,
    UnseenCategoryWarning,
    infer_kind,
)


def _frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    charges = rng.uniform(10, 100, n).round(2).astype(str)
    charges[:3] = " "  # Telco-style blanks in a numeric text column
    return pd.DataFrame({
        "id": [f"C{i:04d}" for i in range(n)],
        "charges": charges,
        "plan": rng.choice(["a", "b", "c"], n),
        "signup": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "flag": rng.integers(0, 2, n).astype(bool),
        "const": "x",
        "empty": [None] * n,
        "count": rng.integers(0, 9, n),
    })


def test_infer_kind_of_each_column() -> None:
    frame = _frame()
    kinds = {c: infer_kind(frame[c]) for c in frame.columns}
    assert kinds == {"id": "id", "charges": "numeric", "plan": "categorical", "signup": "date",
                     "flag": "numeric", "const": "constant", "empty": "empty",
                     "count": "numeric"}
    # month names are categories, not dates
    assert infer_kind(pd.Series(["may", "jun", "jul"] * 10)) == "categorical"
    # a saved row index is an identifier; distinct but gapped integers are numbers
    assert infer_kind(pd.Series(np.arange(100, 130))) == "id"
    assert infer_kind(pd.Series(np.arange(30) * 7)) == "numeric"


def test_encoder_drops_and_expands_with_warning_for_empty() -> None:
    frame = _frame()
    frame["count_again"] = frame["count"]
    with pytest.warns(DataQualityWarning, match="empty"):
        enc = TableEncoder().fit(frame)
    assert enc.dropped_ == {"id": "identifier (unique per row)", "const": "a single value",
                            "empty": "all values missing",
                            "count_again": "same values as 'count'"}
    out = enc.transform(frame)
    assert list(out.columns) == ["charges", "plan", "signup__days", "signup__month",
                                 "signup__dow", "flag", "count"]
    assert out["charges"].isna().sum() == 3
    assert out.loc[0, "signup__days"] == (pd.Timestamp("2020-01-01") - pd.Timestamp("1970-01-01")
                                          ).days
    assert out.loc[0, "signup__dow"] == 2.0  # 2020-01-01 was a Wednesday
    assert enc.source_of_["signup__month"] == "signup"


def test_high_cardinality_capped_and_unseen_levels_mapped() -> None:
    n = 400
    frame = pd.DataFrame({"sku": [f"s{i % 80}" for i in range(n)], "x": np.arange(n) % 7})
    enc = TableEncoder(max_categories=10, min_category_count=3).fit(frame)
    assert len(enc.categories_["sku"]) == 10
    rare = next(f"s{i}" for i in range(80) if f"s{i}" not in enc.categories_["sku"])
    new = pd.DataFrame({"sku": ["s1", "never-seen", None, rare], "x": [1, 2, 3, 4]})
    # An open column (training had rare levels in "other"): a new level is scored like the
    # rare ones, without a warning (the drift check measures the share of "other").
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenCategoryWarning)
        out = enc.transform(new)
    codes = out["sku"].astype(str).tolist()
    assert codes[1:] == [OTHER, MISSING, OTHER]


def test_unseen_level_of_a_closed_column_warns_in_plain_words() -> None:
    n = 300
    frame = pd.DataFrame({"contract": np.array(["monthly", "yearly", "two-year"])[np.arange(n) % 3],
                          "x": np.arange(n) % 7})
    enc = TableEncoder().fit(frame)
    assert enc.rare_["contract"] == []
    new = pd.DataFrame({"contract": ["monthly", "four-year", "four-year", None],
                        "x": [1, 2, 3, 4]})
    with pytest.warns(UnseenCategoryWarning,
                      match=r"column 'contract': 2 rows \('four-year'\)") as caught:
        out = enc.transform(new)
    assert "__other__" not in str(caught[0].message)
    assert out["contract"].astype(str).tolist() == ["monthly", OTHER, OTHER, MISSING]


def test_missing_columns_and_text_in_numeric_column_raise() -> None:
    frame = _frame()
    with pytest.warns(DataQualityWarning):
        enc = TableEncoder().fit(frame)
    with pytest.raises(FeatureMismatchError, match=r"\['plan'\]"):
        enc.transform(frame.drop(columns=["plan"]))
    bad = frame.copy()
    bad["charges"] = "n/a"
    with pytest.raises(FeatureMismatchError, match="charges"):
        enc.transform(bad)


def test_no_usable_column_is_a_fit_error() -> None:
    frame = pd.DataFrame({"id": [f"u{i}" for i in range(30)], "c": 1})
    with pytest.raises(ModelFitError, match="no usable feature"):
        TableEncoder().fit(frame)
