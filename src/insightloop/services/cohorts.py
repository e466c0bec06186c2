"""Use cases for acquisition cohorts: compute, build table ``cohorts``, read it back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import ibis
import pandas as pd

from insightloop.errors import WarehouseError
from insightloop.features.cohorts import COHORT_COLUMNS, cohort_expr
from insightloop.services.context import Context
from insightloop.services.results import CohortSummary
from insightloop.storage.sql import execute_one
from insightloop.storage.warehouse import has_table


def _check_orders(con: Any) -> None:
    row = con.execute("SELECT count(*) FROM orders WHERE customer_id IS NOT NULL").fetchone()
    if not row or not row[0]:
        raise WarehouseError("table `orders` has no rows with a customer; ingest orders first "
                             "(`insightloop ingest orders FILE`)")


def compute_cohorts(ctx: Context, as_of: datetime | None = None) -> pd.DataFrame:
    """The cohort grid as a DataFrame (see :mod:`insightloop.features.cohorts`)."""
    warehouse = ctx.warehouse
    with warehouse.connect(read_only=warehouse.exists) as con:
        _check_orders(con)
        frame = cohort_expr(warehouse.ibis(con).table("orders"), as_of).to_pandas()
    return frame.loc[:, list(COHORT_COLUMNS)].reset_index(drop=True)


def build_cohorts(ctx: Context, as_of: datetime | None = None) -> CohortSummary:
    """Replace table ``cohorts`` atomically (always computed in DuckDB); return a summary.

    The summary has ``cohorts`` (number of cohort months), ``customers``,
    ``periods`` (longest observed span, in months), ``as_of``, and ``rows``
    (the whole grid as records).
    """
    wh = ctx.warehouse
    if wh.read_only:  # INSIGHTLOOP_READ_ONLY: compute and show, store nothing
        frame = compute_cohorts(ctx, as_of).sort_values(["cohort_month", "period"])
        summary = _summary(frame)
        summary["as_of"], summary["stored"] = as_of, False
        return summary
    with wh.transaction() as con:
        _check_orders(con)
        expr = cohort_expr(wh.ibis(con).table("orders"), as_of)
        execute_one(con, "CREATE OR REPLACE TABLE cohorts AS "
                    + ibis.to_sql(expr, dialect="duckdb"))
    built = show_cohorts(ctx)
    built["as_of"] = as_of
    return built


def show_cohorts(ctx: Context) -> CohortSummary:
    """Summary and rows of table ``cohorts`` (error with the command to run if missing)."""
    with ctx.read() as con:
        if not has_table(con, "cohorts"):
            raise WarehouseError("no cohorts yet; run `insightloop cohorts` first")
        frame = con.execute("SELECT * FROM cohorts ORDER BY cohort_month, period").df()
    return _summary(frame)


def _summary(frame: pd.DataFrame) -> CohortSummary:
    heads = frame[frame["period"] == 0]
    return {
        "cohorts": len(heads),
        "customers": int(heads["customers"].sum()),
        "periods": int(frame["period"].max() + 1) if len(frame) else 0,
        "rows": cast("list[dict[str, Any]]", frame.to_dict(orient="records")),
    }
