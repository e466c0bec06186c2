"""Use cases for customer 360 profiles: compute, build into the warehouse, look up one."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd

from insightloop.errors import NotFoundError, WarehouseError
from insightloop.features.profiles import PROFILE_COLUMNS, profile_expr
from insightloop.features.sentiment import customer_sentiment_features
from insightloop.services.context import Context
from insightloop.services.results import ProfilesBuilt
from insightloop.storage.spark import spark_backend
from insightloop.storage.sql import execute_one, ident, literal
from insightloop.storage.warehouse import has_table

OPTIONAL_INPUTS = ("products", "customers", "events")
# Tables written by later stages, keyed by customer_id, shown with a profile when present.
ENRICHMENTS = ("rfm", "clv", "segment_members", "scores", "customer_sentiment")


def default_as_of(con: duckdb.DuckDBPyConnection) -> datetime:
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


def _expr(backend: Any, names: list[str], as_of: datetime) -> Any:
    tables = {n: backend.table(n) for n in names}
    return profile_expr(tables["orders"], as_of, products=tables.get("products"),
                        customers=tables.get("customers"), events=tables.get("events"))


def compute_profiles(ctx: Context, as_of: datetime | None = None) -> pd.DataFrame:
    """Profiles as a DataFrame (one row per customer), using only data before ``as_of``,
    on the context's engine."""
    warehouse = ctx.warehouse
    with warehouse.connect(read_only=warehouse.exists) as con:
        as_of = as_of or default_as_of(con)
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


def build_profiles(ctx: Context, as_of: datetime | None = None) -> ProfilesBuilt:
    """Compute profiles on the configured engine and replace table ``profiles`` atomically."""
    wh = ctx.warehouse
    if ctx.engine.is_spark:
        frame = compute_profiles(ctx, as_of)
        with wh.transaction() as con:
            con.register("__profiles", frame)
            con.execute("CREATE OR REPLACE TABLE profiles AS SELECT * FROM __profiles")
            con.unregister("__profiles")
            _refuse_empty(con, as_of)
            refresh_customer_360(con)
    else:
        with wh.transaction() as con:
            as_of = as_of or default_as_of(con)
            expr = _expr(wh.ibis(con), _inputs(con), as_of)
            # Compiled SQL runs inside DuckDB: out-of-core, no round trip through pandas.
            sql = ibis.to_sql(expr, dialect="duckdb")
            execute_one(con, f"CREATE OR REPLACE TABLE profiles AS {sql}")
            _refuse_empty(con, as_of)  # raising rolls back: the old profiles stay
            refresh_customer_360(con)
    with wh.connect(read_only=True) as con:
        row = con.execute(
            "SELECT count(*), any_value(as_of), sum(monetary), avg(frequency) FROM profiles"
        ).fetchone()
    assert row is not None
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


def refresh_customer_360(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create view ``customer_360``: profiles plus every enrichment that exists.

    RFM and segment columns keep their names; CLV columns get a ``clv_`` prefix
    (``clv_p_alive``, ``clv_expected_avg_value``…, and ``clv`` itself); each scored
    model adds ``<model>_score``, ``<model>_version`` and ``<model>_reasons``. Called
    inside the transaction of every command that writes one of these tables, so the
    view always matches them.
    """
    if not has_table(con, "profiles"):
        return
    selects, joins = ["p.*"], []
    for alias, table, prefix in (("r", "rfm", ""), ("c", "clv", "clv_"),
                                 ("m", "segment_members", ""), ("t", "customer_sentiment", "")):
        if not has_table(con, table):
            continue
        cols = [r[0] for r in con.execute(f"DESCRIBE {ident(table)}").fetchall()
                if r[0] != "customer_id"]
        selects += [f"{alias}.{ident(c)} AS "
                    f"{ident(c if prefix and c == prefix.rstrip('_') else prefix + c)}"
                    for c in cols]
        joins.append(f"LEFT JOIN {ident(table)} {alias} USING (customer_id)")
    if has_table(con, "scores"):
        models = [r[0] for r in con.execute(
            "SELECT DISTINCT model FROM scores ORDER BY model").fetchall()]
        if models:
            pivots = []
            for model in models:
                lit = literal(str(model))
                for col in ("score", "version", "reasons"):
                    pivots.append(f"max({col}) FILTER (WHERE model = {lit}) AS "
                                  f"{ident(f'{model}_{col}')}")
            joins.append("LEFT JOIN (SELECT customer_id, " + ", ".join(pivots)
                         + " FROM scores GROUP BY customer_id) s USING (customer_id)")
            selects.append("s.* EXCLUDE (customer_id)")
    # Column and model names come from data: quoted above, and one statement only.
    execute_one(con, "CREATE OR REPLACE VIEW customer_360 AS SELECT " + ", ".join(selects)
                + " FROM profiles p " + " ".join(joins))


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
