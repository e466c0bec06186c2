"""Use cases for customer 360 profiles: compute, build into the warehouse, look up one."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd

from insightloop.errors import NotFoundError, WarehouseError
from insightloop.features.profiles import OPTIONAL_INPUTS, PROFILE_COLUMNS, profile_expr_of
from insightloop.features.sentiment import customer_sentiment_features
from insightloop.services.context import Context
from insightloop.services.results import ProfilesBuilt
from insightloop.storage.lake import is_lake
from insightloop.storage.spark import spark_backend
from insightloop.storage.sql import execute_one, ident
from insightloop.storage.warehouse import has_table, refresh_customer_360

# Tables written by later stages, keyed by customer_id, shown with a profile when present.
ENRICHMENTS = ("rfm", "clv", "segment_members", "scores", "customer_sentiment")


def _default_as_of(con: duckdb.DuckDBPyConnection) -> datetime:
    """Midnight after the last order: every loaded order counts."""
    row = con.execute("SELECT max(order_time) FROM orders").fetchone()
    if not row or row[0] is None:
        raise WarehouseError("table `orders` is empty; ingest orders first "
                             "(`insightloop ingest orders FILE`)")
    last: datetime = row[0]
    return datetime(last.year, last.month, last.day) + timedelta(days=1)


def _inputs(con: duckdb.DuckDBPyConnection) -> list[str]:
    names = ["orders"]
    for name in OPTIONAL_INPUTS:
        row = con.execute(f"SELECT count(*) FROM {ident(name)}").fetchone()
        if row and row[0]:
            names.append(name)
    return names


_expr = profile_expr_of


def compute_profiles(ctx: Context, as_of: datetime | None = None) -> pd.DataFrame:
    """Profiles as a DataFrame (one row per customer), using only data before ``as_of``,
    on the context's engine."""
    if ctx.engine.is_spark and is_lake(ctx.settings.warehouse):
        # lazy: pyspark (the optional [spark] extra) only for engine 'spark' over a lake
        from insightloop.services.spark import profiles as spark_profiles

        return spark_profiles.compute_profiles_lake(ctx, as_of)
    warehouse = ctx.warehouse
    with warehouse.connect(read_only=warehouse.exists) as con:
        as_of = as_of or _default_as_of(con)
        names = _inputs(con)
        if ctx.engine.is_spark:
            # The Parquet copies Spark reads are removed once the result is collected.
            with tempfile.TemporaryDirectory(prefix="insightloop-spark-") as folder:
                backend = spark_backend(con, names, master=ctx.engine.spark_master,
                                        workdir=Path(folder))
                frame = _expr(backend, names, as_of).to_pandas()
        else:
            frame = _expr(warehouse.ibis(con), names, as_of).to_pandas()
        frame = frame.loc[:, list(PROFILE_COLUMNS)].reset_index(drop=True)
        if has_table(con, "review_sentiment"):
            frame = frame.merge(customer_sentiment_features(con, as_of), on="customer_id",
                                how="left").fillna({"sentiment_reviews": 0,
                                                    "complaint_count": 0})
    return frame


#: ``on_progress(message, steps_done, steps_total)`` of :func:`build_profiles`.
StepFn = Callable[[str, int, int], None]
BUILD_STEPS = ("reading the inputs", "computing profiles", "writing table profiles",
               "summarising")


def build_profiles(ctx: Context, as_of: datetime | None = None, *,
                   on_progress: StepFn | None = None) -> ProfilesBuilt:
    """Compute profiles on the configured engine and replace table ``profiles`` atomically.

    ``on_progress`` is called before each of the :data:`BUILD_STEPS` (and once at the end
    with every step done), for a determinate progress bar."""
    def step(n: int) -> None:
        if on_progress is not None:
            total = len(BUILD_STEPS)
            on_progress(BUILD_STEPS[n] if n < total else "done", n, total)

    wh = ctx.warehouse
    step(0)
    if ctx.engine.is_spark and is_lake(ctx.settings.warehouse):
        # lazy: pyspark (the optional [spark] extra) only for engine 'spark' over a lake
        from insightloop.services.spark import profiles as spark_profiles

        built = spark_profiles.build_profiles_lake(ctx, as_of, on_step=lambda n: step(n))
        step(len(BUILD_STEPS))
        return built
    if ctx.engine.is_spark:
        step(1)
        frame = compute_profiles(ctx, as_of)
        step(2)
        with wh.transaction() as con:
            con.register("__profiles", frame)
            con.execute("CREATE OR REPLACE TABLE profiles AS SELECT * FROM __profiles")
            con.unregister("__profiles")
            _refuse_empty(con, as_of)
            refresh_customer_360(con)
    else:
        with wh.transaction() as con:
            as_of = as_of or _default_as_of(con)
            expr = _expr(wh.ibis(con), _inputs(con), as_of)
            step(1)
            # Compiled SQL runs inside DuckDB: out-of-core, no round trip through pandas.
            sql = ibis.to_sql(expr, dialect="duckdb")
            execute_one(con, f"CREATE OR REPLACE TABLE profiles AS {sql}")
            step(2)
            _refuse_empty(con, as_of)  # raising rolls back: the old profiles stay
            refresh_customer_360(con)
    step(3)
    with wh.connect(read_only=True) as con:
        row = con.execute(
            "SELECT count(*), any_value(as_of), sum(monetary), avg(frequency) FROM profiles"
        ).fetchone()
    assert row is not None
    step(len(BUILD_STEPS))
    return {"customers": int(row[0]), "as_of": row[1], "engine": ctx.engine.name,
            "net_revenue": float(row[2] or 0.0), "mean_frequency": float(row[3] or 0.0)}


def _refuse_empty(con: duckdb.DuckDBPyConnection, as_of: datetime | None) -> None:
    """Refuse to replace profiles with none when orders exist (a mistaken ``--as-of``)."""
    row = con.execute("SELECT (SELECT count(*) FROM profiles), (SELECT min(order_time) FROM "
                      "orders WHERE customer_id IS NOT NULL)").fetchone()
    if row is None or row[0] or row[1] is None:
        return
    raise WarehouseError(
        f"no customer has an order on or before the as-of date {as_of}; the earliest order is "
        f"on {row[1]}. Profiles were not replaced: pass a later --as-of")


def get_profile(ctx: Context, customer_id: str) -> dict[str, Any]:
    """One customer's profile with every enrichment present (RFM, CLV, segment, scores).

    Values as DuckDB gives them (timestamps, numpy numbers); the profile columns vary with
    the warehouse, so the result is an open mapping (the API's JSON form is
    :func:`insightloop.services.customers.customer_profile`).
    """
    with ctx.read() as con:
        if not has_table(con, "profiles"):
            raise WarehouseError("no profiles yet; run `insightloop profiles build` first")
        rows = con.execute("SELECT * FROM profiles WHERE customer_id = ?", [customer_id]).df()
        if rows.empty:
            raise NotFoundError(f"customer {customer_id!r} has no profile in "
                                f"{ctx.settings.warehouse}")
        out: dict[str, Any] = rows.iloc[0].to_dict()
        for table in ENRICHMENTS:
            if has_table(con, table):
                extra = con.execute(f"SELECT * FROM {ident(table)} WHERE customer_id = ?",
                                    [customer_id]).df()
                records = [{k: v for k, v in rec.items() if k != "customer_id"}
                           for rec in extra.to_dict("records")]
                if len(records) == 1:
                    out[table] = records[0]
                elif records:  # e.g. one score row per registered model
                    out[table] = records
    return out
