"""CLV on Spark (the ``clv build`` stage over a lake): statistics on the cluster, fit on the driver.

What runs where:

* **cluster**: the orders netted per customer per day (the DuckDB path's rules: known
  customer, not cancelled, up to the as-of date, days with a net > 0), each customer's
  ``frequency, recency, T, monetary_value`` (weeks), the histogram of the distinct
  ``(frequency, recency, T)`` with their counts, and, once the models are fitted, every
  customer's P(alive), expected purchases, expected spend and CLV (``mapInPandas``: the
  fitted models travel with the tasks; the formulas are :mod:`insightloop.models.clv`'s).
* **driver**: the purchase model is fitted on the histogram (the sufficient statistic of
  the BG/NBD family: counts of identical customers are weights), the family and prior
  chosen by :func:`~insightloop.models.clv.selection.select_purchase_model` on the daily
  purchases of at most ``sample_customers`` customers (everybody when fewer), and the
  Gamma-Gamma spend model on at most that many repeat buyers (its likelihood has no small
  sufficient statistic). With all customers in the sample the fit is the DuckDB path's.

Nothing per customer is collected: the driver receives the histogram, the bounded sample
and a handful of totals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from insightloop.errors import ModelFitError, WarehouseError
from insightloop.models.clv.data import summary_from_transactions
from insightloop.models.clv.gamma_gamma import GammaGammaModel
from insightloop.models.clv.lifetime_value import WEEK_DAYS, customer_lifetime_value
from insightloop.models.clv.selection import Selection, make_model, select_purchase_model
from insightloop.services.context import Context
from insightloop.services.results import ClvBuilt
from insightloop.services.spark.common import lake_of, session_of

#: customers whose daily purchases choose the model on the driver, at most (and repeat
#: buyers the spend model is fitted on)
CLV_SAMPLE_CUSTOMERS = 200_000
MODEL_NAME = "clv"


def daily_purchases(orders: DataFrame, cutoff: datetime) -> DataFrame:
    """``customer_id, day, net``: completed orders netted per customer per day, net > 0."""
    status = F.col("status")
    kept = orders.filter(F.col("customer_id").isNotNull()
                         & (status.isNull() | (F.lower(status) != "cancelled"))
                         & (F.col("order_time") <= F.lit(cutoff)))
    net = F.sum(F.col("quantity") * F.col("unit_price")).alias("net")
    daily = (kept.groupBy(F.col("customer_id").cast("string").alias("customer_id"),
                          F.date_trunc("day", "order_time").cast("timestamp_ntz").alias("day"))
             .agg(net))
    return daily.filter(F.col("net") > 0)


def customer_summary(daily: DataFrame, calibration_end: pd.Timestamp) -> DataFrame:
    """``customer_id, frequency, recency, T, monetary_value`` (weeks) per customer: the
    lifetimes convention of :func:`~insightloop.models.clv.data.summary_from_transactions`."""
    cal = F.lit(calibration_end.floor("D").to_pydatetime()).cast("timestamp_ntz")
    per = daily.groupBy("customer_id").agg(
        F.min("day").alias("first"), F.max("day").alias("last"),
        F.count(F.lit(1)).alias("n"), F.sum("net").alias("total"),
        F.min_by("net", "day").alias("first_amt"))
    freq = (F.col("n") - 1).cast("long")
    days = F.datediff
    return per.select(
        "customer_id", freq.alias("frequency"),
        (days(F.col("last"), F.col("first")).cast("double") / WEEK_DAYS).alias("recency"),
        (days(cal, F.col("first")).cast("double") / WEEK_DAYS).alias("T"),
        F.when(freq > 0, (F.col("total") - F.col("first_amt")) / freq).otherwise(0.0)
        .alias("monetary_value"))


def histogram(summary: DataFrame) -> pd.DataFrame:
    """The distinct ``(frequency, recency, T)`` with their ``count`` (to the driver)."""
    return pd.DataFrame(summary.groupBy("frequency", "recency", "T").count()
                        .orderBy("frequency", "recency", "T").toPandas())


def _sample(frame: DataFrame, rows: int) -> DataFrame:
    return frame.select("customer_id").distinct().orderBy(
        F.xxhash64("customer_id"), F.col("customer_id")).limit(rows)


def fit_models(daily: DataFrame, summary: DataFrame, calibration_end: pd.Timestamp, *,
               families: tuple[str, ...], priors: tuple[float, ...],
               sample_customers: int = CLV_SAMPLE_CUSTOMERS) -> tuple[Selection, Any, bool]:
    """The purchase model (chosen on the sample, fitted on the histogram) and the spend
    model (fitted on the sample's repeat buyers); whether the sample held every customer."""
    cal = calibration_end.floor("D")
    n_customers = summary.count()
    picked = _sample(summary, sample_customers)
    local = pd.DataFrame(daily.join(picked, "customer_id").toPandas())
    whole = n_customers <= sample_customers
    local_summary = summary_from_transactions(local, "customer_id", "day", "net", cal,
                                              time_unit_days=WEEK_DAYS)
    sel = select_purchase_model(local, "customer_id", "day", cal, full_summary=local_summary,
                                candidates=families, priors=priors, time_unit_days=WEEK_DAYS)
    if not whole:
        hist = histogram(summary)
        try:
            refit = make_model(sel.name, sel.prior).fit(
                hist["frequency"].to_numpy(np.float64), hist["recency"].to_numpy(np.float64),
                hist["T"].to_numpy(np.float64), weights=hist["count"].to_numpy(np.float64))
            sel = replace(sel, model=refit)
        except ModelFitError as exc:
            sel.warnings.append(f"the refit on all {n_customers:,} customers failed ({exc}); "
                                f"the fit on the {len(local_summary):,} sampled is kept")
    buyers = summary.filter(F.col("frequency") > 0)
    repeat = (local_summary if whole else pd.DataFrame(
        buyers.join(_sample(buyers, sample_customers), "customer_id").toPandas()))
    x, m = repeat["frequency"], repeat["monetary_value"]
    try:
        spend = GammaGammaModel(penalizer=0.0).fit(x, m)
    except ModelFitError:
        spend = GammaGammaModel(penalizer=0.01).fit(x, m)
    if spend.q_ <= 1:
        spend = GammaGammaModel(penalizer=0.01).fit(x, m)
    return sel, spend, whole


def customer_values(summary: DataFrame, purchase: Any, spend: Any, *, horizon_months: int,
                    discount_rate: float, model_label: str, fitted_at: datetime) -> DataFrame:
    """The ``clv`` table computed on the cluster from each customer's statistics."""
    exp_col = f"expected_purchases_{horizon_months}m"
    weeks = horizon_months * 365.25 / 12.0 / WEEK_DAYS

    def values(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in frames:
            x, t_x, t_big, m = (frame[c].to_numpy(np.float64) for c in
                                ("frequency", "recency", "T", "monetary_value"))
            if not len(frame):
                continue
            yield frame.assign(
                p_alive=np.asarray(purchase.probability_alive(x, t_x, t_big), np.float64),
                **{exp_col: np.asarray(purchase.expected_purchases(weeks, x, t_x, t_big),
                                       np.float64)},
                expected_avg_value=np.asarray(spend.conditional_expected_average_profit(x, m),
                                              np.float64),
                clv=customer_lifetime_value(purchase, spend, x, t_x, t_big, m, horizon_months,
                                            discount_rate, WEEK_DAYS))

    schema = (f"customer_id string, frequency long, recency double, T double, "
              f"monetary_value double, p_alive double, {exp_col} double, "
              "expected_avg_value double, clv double")
    return (summary.mapInPandas(cast(Any, values), schema=schema)
            .withColumn("model", F.lit(model_label))
            .withColumn("fitted_at", F.lit(fitted_at).cast("timestamp_ntz")))


def build_clv(ctx: Context, as_of: Any, horizon_months: int, discount_rate: float, *,
              families: tuple[str, ...], priors: tuple[float, ...],
              sample_customers: int = CLV_SAMPLE_CUSTOMERS) -> ClvBuilt:
    """Table ``clv`` of the lake written by the cluster (see the module doc)."""
    lake, session = lake_of(ctx), session_of(ctx)
    orders = lake.read_spark(session, "orders")
    if as_of is None:
        last = orders.filter(F.col("customer_id").isNotNull()).agg(F.max("order_time")).first()
        if last is None or last[0] is None:
            raise WarehouseError(f"lake {lake.root} has no orders with a customer_id")
        cutoff = pd.Timestamp(last[0])
    else:
        cutoff = pd.Timestamp(as_of)
    daily = daily_purchases(orders, cutoff.to_pydatetime()).localCheckpoint(eager=True)
    summary = customer_summary(daily, cutoff).localCheckpoint(eager=True)
    if summary.isEmpty():
        raise WarehouseError(f"no completed customer orders on or before {cutoff} in "
                             f"{lake.root}")
    sel, spend, whole = fit_models(daily, summary, cutoff, families=families, priors=priors,
                                   sample_customers=sample_customers)
    purchase, label = sel.model, f"{sel.name}+gamma_gamma"
    fitted_at = datetime.now().replace(microsecond=0)
    table = customer_values(summary, purchase, spend, horizon_months=horizon_months,
                            discount_rate=discount_rate, model_label=label, fitted_at=fitted_at)
    lake.write_spark(table, "clv")
    written = lake.read_spark(session, "clv")
    totals = written.agg(F.count(F.lit(1)).alias("n"), F.avg("p_alive").alias("p_alive"),
                         F.sum("clv").alias("total"), F.avg("clv").alias("mean"),
                         F.median("clv").alias("median"),
                         F.sum((F.col("frequency") > 0).cast("long")).alias("repeat")).first()
    if totals is None:  # pragma: no cover - an aggregate always has one row
        raise WarehouseError(f"table clv of lake {lake.root} could not be read back")
    p_summary, s_summary = purchase.summary(), spend.summary()
    sampled = "" if whole else (f"; chosen on a sample of {sample_customers:,} customers, "
                                "refitted on all")
    info = ctx.models.save(MODEL_NAME, {"purchase": purchase, "spend": spend}, {
        "task": "clv", "model": label, "as_of": cutoff.isoformat(), "engine": "spark",
        "metrics": {"rows": int(totals["n"])}, "purchase_summary": p_summary,
        "dropout_prior": sel.prior, "selection": sel.reason + sampled,
        "warnings": sel.warnings, "validation_auc": sel.validation_auc,
        "validation_loglik": sel.validation_loglik, "p_alive_mean": float(totals["p_alive"]),
        "spend_summary": s_summary})
    return {
        "table": "clv", "customers": int(totals["n"]), "repeat_buyers": int(totals["repeat"]),
        "as_of": cutoff.isoformat(), "model": label,
        "purchase_params": {k: float(v) for k, v in purchase.params_.items()},
        "spend_params": {k: float(v) for k, v in spend.params_.items()},
        "purchase_summary": p_summary, "dropout_prior": sel.prior,
        "selection": sel.reason + sampled, "warnings": sel.warnings,
        "validation_auc": sel.validation_auc, "validation_loglik": sel.validation_loglik,
        "p_alive_mean": float(totals["p_alive"]), "spend_summary": s_summary,
        "model_ref": f"{MODEL_NAME}:v{info['version']}", "horizon_months": horizon_months,
        "discount_rate": discount_rate,
        "expected_purchases_column": f"expected_purchases_{horizon_months}m",
        "total_clv": float(totals["total"]), "mean_clv": float(totals["mean"]),
        "median_clv": float(totals["median"]), "fitted_at": fitted_at.isoformat(),
    }
