"""Training examples are the same whether profiles run on DuckDB or on Spark."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.services.training import training_set
from insightloop.storage.warehouse import Warehouse

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_churn_training_set_identical_on_spark(sample_warehouse: Path) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java not on PATH)")
    wh = Warehouse(sample_warehouse)
    dates = [datetime(2011, 6, 1)]
    duck = training_set(ctx_of(wh), "churn", dates, 90)
    spark = training_set(ctx_of(wh, engine="spark"), "churn", dates, 90)
    key = ["customer_id"]
    duck = duck.sort_values(key).reset_index(drop=True)
    spark = spark.sort_values(key).reset_index(drop=True)
    assert len(duck) > 200 and list(duck.columns) == list(spark.columns)
    assert duck["label"].tolist() == spark["label"].tolist()
    for col in ("recency_days", "frequency", "monetary", "orders_90d", "revenue_30d"):
        pd.testing.assert_series_equal(duck[col].astype("float64"),
                                       spark[col].astype("float64"), rtol=1e-9, atol=1e-9)
