"""Customer 360 profiles on Spark, read from and written to the lake (``profiles build``).

The same Ibis expression as on DuckDB (:func:`insightloop.features.profiles.profile_expr`),
compiled to Spark SQL over the lake's tables (registered as temporary views, read in place:
no copy through DuckDB) and written back as the lake's ``profiles`` table by the executors.
Only the default as-of date (one value) and the summary (one row) reach the driver.
Review sentiment features (``sentiment_reviews``, ``complaint_count``) are added on the
DuckDB path only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import ibis
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType, IntegerType, ShortType

from insightloop.errors import WarehouseError
from insightloop.features.profiles import OPTIONAL_INPUTS, PROFILE_COLUMNS, profile_expr_of
from insightloop.services.context import Context
from insightloop.services.results import ProfilesBuilt
from insightloop.services.spark.common import lake_of, session_of


def profiles_frame(ctx: Context, as_of: datetime | None = None) -> tuple[DataFrame, datetime]:
    """The profiles as a (lazy) Spark DataFrame over the lake, and the as-of date used.

    Refuses (WarehouseError) when no customer has an order before ``as_of``, as the DuckDB
    path does, before anything is written.
    """
    lake = lake_of(ctx)
    session = session_of(ctx)
    orders = lake.read_spark(session, "orders")
    if as_of is None:
        last = orders.agg(F.max("order_time")).first()[0]
        if last is None:
            raise WarehouseError("table `orders` is empty; ingest orders first "
                                 "(`insightloop ingest orders FILE`)")
        as_of = datetime(last.year, last.month, last.day) + timedelta(days=1)
    customer_orders = orders.where(F.col("customer_id").isNotNull())
    if not customer_orders.where(F.col("order_time") < F.lit(pd.Timestamp(as_of))
                                 .cast("timestamp_ntz")).limit(1).count():
        first = customer_orders.agg(F.min("order_time")).first()[0]
        if first is not None:
            raise WarehouseError(
                f"no customer has an order on or before the as-of date {as_of}; the earliest "
                f"order is on {first}. Profiles were not replaced: pass a later --as-of")
    names = ["orders"]
    orders.createOrReplaceTempView("orders")
    for name in OPTIONAL_INPUTS:
        if lake.exists(name):
            table = lake.read_spark(session, name)
            if table.limit(1).count():
                table.createOrReplaceTempView(name)
                names.append(name)
    backend = ibis.pyspark.connect(session)
    sql = ibis.to_sql(profile_expr_of(backend, names, as_of), dialect="pyspark")
    return _duckdb_types(session.sql(str(sql))), as_of


def _duckdb_types(frame: DataFrame) -> DataFrame:
    """The columns in the expression's order with the DuckDB path's types: money (Spark's
    DECIMAL after rounding to cents) as DOUBLE, small integers as BIGINT."""
    cast = {DecimalType: "double", IntegerType: "bigint", ShortType: "bigint"}
    return frame.select(*[
        F.col(f.name).cast(cast[type(f.dataType)]).alias(f.name)
        if type(f.dataType) in cast else F.col(f.name) for f in frame.schema.fields])


def compute_profiles_lake(ctx: Context, as_of: datetime | None = None) -> pd.DataFrame:
    """The profiles as pandas (for callers that need them on the driver: scoring, training)."""
    frame, _ = profiles_frame(ctx, as_of)
    return pd.DataFrame(frame.select(*PROFILE_COLUMNS).toPandas()).reset_index(drop=True)


def build_profiles_lake(ctx: Context, as_of: datetime | None = None, *,
                        on_step: Callable[[int], None] | None = None) -> ProfilesBuilt:
    """Replace the lake's ``profiles`` table (atomically) with profiles computed on Spark;
    ``on_step(n)`` before step n of ``services.profiles.BUILD_STEPS`` (1: compute, 2: write,
    3: summarise; on Spark computing and writing are one job)."""
    step = on_step or (lambda _n: None)
    lake = lake_of(ctx)
    frame, as_of = profiles_frame(ctx, as_of)
    step(1)
    lake.write_spark(frame, "profiles")
    step(3)
    row: Any = lake.read_spark(session_of(ctx), "profiles").agg(
        F.count(F.lit(1)), F.sum("monetary"), F.avg("frequency")).first()
    return {"customers": int(row[0]), "as_of": as_of, "engine": ctx.engine.name,
            "net_revenue": float(row[1] or 0.0), "mean_frequency": float(row[2] or 0.0)}
