"""Training examples on Spark over the lake (``train churn|propensity|response``).

* **cluster**: for each as-of date, the profiles before it (the same Ibis expression as
  DuckDB, :func:`~insightloop.services.spark.profiles.profiles_frame`) joined to that date's
  labels (the same Ibis label expressions, :mod:`insightloop.features.labels`, compiled to
  Spark SQL); the examples of all dates stacked; a **stratified** sample of at most
  ``sample_rows`` of them (each label keeps its share; the examples kept are the first by a
  hash of customer and date, so the sample is the same on every run).
* **driver**: the sample only, fitted by the same classifier as the DuckDB path
  (:func:`insightloop.services.training` registers it). With fewer examples than
  ``sample_rows`` the driver gets them all and the model is DuckDB's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import ibis
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from insightloop.errors import ConfigError, ModelFitError, WarehouseError
from insightloop.features import labels as lab
from insightloop.services.context import Context
from insightloop.services.spark.common import lake_of, session_of
from insightloop.services.spark.profiles import profiles_frame

#: training examples the driver fits on, at most (stratified by label)
TRAIN_SAMPLE_ROWS = 500_000


def data_end(ctx: Context, task: str) -> datetime:
    """The day after the last order (or send, for ``response``) in the lake."""
    lake, session = lake_of(ctx), session_of(ctx)
    table, column = ("sends", "send_time") if task == "response" else ("orders", "order_time")
    if not lake.exists(table):
        raise WarehouseError(f"table `{table}` is not in lake {lake.root}; ingest it first")
    last = lake.read_spark(session, table).agg(F.max(column)).first()
    if last is None or last[0] is None:
        raise WarehouseError(f"table `{table}` is empty; ingest it first")
    day: datetime = last[0]
    return datetime(day.year, day.month, day.day) + timedelta(days=1)


def first_order(ctx: Context) -> pd.Timestamp | None:
    """The first order time of a known customer in the lake (None when there is none)."""
    orders = lake_of(ctx).read_spark(session_of(ctx), "orders")
    first = orders.filter(F.col("customer_id").isNotNull()).agg(F.min("order_time")).first()
    return pd.Timestamp(first[0]) if first is not None and first[0] is not None else None


def labels_frame(ctx: Context, task: str, as_of: datetime, horizon_days: int) -> DataFrame:
    """``customer_id, label`` of one task at one as-of date, on the cluster."""
    end = data_end(ctx, task)
    if as_of + timedelta(days=horizon_days) > end:
        raise ConfigError(
            f"as-of {as_of:%Y-%m-%d} + {horizon_days} days ends after the data "
            f"({end:%Y-%m-%d}); the labels would be incomplete. Use an as-of date on or "
            f"before {end - timedelta(days=horizon_days):%Y-%m-%d}")
    lake, session = lake_of(ctx), session_of(ctx)
    source = "sends" if task == "response" else "orders"
    lake.read_spark(session, source).createOrReplaceTempView(source)
    table = ibis.pyspark.connect(session).table(source)
    expr = (lab.churn_labels(table, as_of, horizon_days) if task == "churn" else
            lab.purchase_labels(table, as_of, horizon_days) if task == "propensity" else
            lab.response_labels(table, as_of, horizon_days))
    return session.sql(str(ibis.to_sql(expr, dialect="pyspark"))).select("customer_id", "label")


def examples_frame(ctx: Context, task: str, as_of_dates: Sequence[datetime],
                   horizon_days: int) -> DataFrame:
    """Profiles before each as-of date joined to its labels, stacked (on the cluster)."""
    if not as_of_dates:
        raise ConfigError("give at least one as-of date")
    parts = []
    for as_of in sorted(as_of_dates):  # one Spark plan per as-of date (a handful)
        profiles, _ = profiles_frame(ctx, as_of)
        parts.append(profiles.join(labels_frame(ctx, task, as_of, horizon_days),
                                   "customer_id", "inner"))
    frame = parts[0]
    for part in parts[1:]:
        frame = frame.unionByName(part)
    return frame


def stratified_sample(examples: DataFrame, rows: int) -> tuple[pd.DataFrame, int]:
    """At most ``rows`` examples, each label keeping its share; and the number of examples.

    Deterministic: within each label the examples first by a hash of (customer, as-of).
    """
    if rows < 2:
        raise ConfigError(f"the training sample must hold at least 2 examples, got {rows}")
    examples = examples.localCheckpoint(eager=True)
    per_label = {int(r[0]): int(r[1]) for r in examples.groupBy("label").count().collect()}
    total = sum(per_label.values())
    if total == 0:
        raise ModelFitError("no training examples: no customer had data before those dates")
    if total <= rows:
        kept = examples
    else:
        quota = F.create_map(*[x for label, n in per_label.items()
                               for x in (F.lit(label), F.lit(max(1, round(rows * n / total))))])
        order = Window.partitionBy("label").orderBy(
            F.xxhash64("customer_id", "as_of"), F.col("customer_id"), F.col("as_of"))
        kept = (examples.withColumn("_il_n", F.row_number().over(order))
                .filter(F.col("_il_n") <= quota[F.col("label")]).drop("_il_n"))
    frame = pd.DataFrame(kept.orderBy("as_of", "customer_id").toPandas())
    return frame.reset_index(drop=True), total
