"""The profile pipeline gives identical results on DuckDB and on Spark."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.services.profiles import compute_profiles
from insightloop.storage.warehouse import Warehouse

pytestmark = pytest.mark.spark


@pytest.mark.slow
def test_duckdb_and_spark_profiles_identical(sample_warehouse: Path) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java not on PATH)")
    wh = Warehouse(sample_warehouse)
    duck = compute_profiles(ctx_of(wh, engine="duckdb"))
    spark = compute_profiles(ctx_of(wh, engine="spark", spark_master="local[2]"))
    assert len(duck) == 364
    assert list(duck.columns) == list(spark.columns)
    duck = duck.sort_values("customer_id").reset_index(drop=True)
    spark = spark.sort_values("customer_id").reset_index(drop=True)
    for col in duck.columns:
        a, b = duck[col], spark[col]
        if pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
            pd.testing.assert_series_equal(a.astype("float64"), b.astype("float64"),
                                           check_names=False, rtol=1e-9, atol=1e-9)
        elif pd.api.types.is_datetime64_any_dtype(a):
            pd.testing.assert_series_equal(a, pd.to_datetime(b).astype(a.dtype),
                                           check_names=False)
        else:
            left = a.fillna("<NA>").astype(str).tolist()
            assert left == b.fillna("<NA>").astype(str).tolist(), col
