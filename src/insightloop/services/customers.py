"""Read-only use cases over ``customer_360``: paginated customer lists, KPIs, reviews.

Filters are values bound as SQL parameters; sort columns come from a fixed
list checked against the columns the view has, so nothing a caller sends is
ever spliced into SQL text.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, cast

import duckdb
import numpy as np

from insightloop.errors import ConfigError, NotFoundError, WarehouseError
from insightloop.services.context import Context
from insightloop.services.records import plain, records
from insightloop.services.results import (
    CustomerFilters,
    CustomerPage,
    CustomerProfile,
    CustomerRow,
    Kpis,
    Review,
)
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import has_table

SORT_COLUMNS = ("customer_id", "monetary", "frequency", "recency_days", "avg_order_value",
                "clv", "churn_score", "value_at_risk", "country", "rfm_segment",
                "segment_name")
LIST_COLUMNS = ("customer_id", "country", "frequency", "monetary", "recency_days",
                "avg_order_value", "rfm_segment", "value_tier", "segment_id", "segment_name",
                "clv", "churn_score", "value_at_risk")
#: Columns whose distinct values the list offers as filter choices.
CHOICE_COLUMNS = ("segment_name", "rfm_segment", "value_tier", "country")
MAX_CHOICES = 500
ACTIVE_DAYS = 90
# Enrichments of one customer (table -> one row or, for scores, one row per model).
PROFILE_PARTS = ("rfm", "clv", "segment_members", "scores")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def customer_profile(ctx: Context, customer_id: str) -> CustomerProfile:
    """One customer's profile with every enrichment built, in one query (JSON-able).

    Same content as :func:`insightloop.services.profiles.get_profile` (profile columns,
    then ``rfm``, ``clv``, ``segment_members`` as objects), except that ``scores`` is
    always a list (one entry per scored model) and timestamps are ISO strings.

    Raises
    ------
    NotFoundError
        The customer has no profile.
    WarehouseError
        Profiles are not built.
    """
    with ctx.read() as c:
        if _all_built(c):
            parts = list(PROFILE_PARTS)
        elif has_table(c, "profiles"):
            parts = [t for t in PROFILE_PARTS if has_table(c, t)]
        else:
            raise WarehouseError("no profiles yet; run `insightloop profiles build` first")
        cols = ["(SELECT to_json(p) FROM profiles p WHERE customer_id = $1)"]
        for t in parts:
            agg = "to_json(list(x ORDER BY x.model))" if t == "scores" else "to_json(x)"
            cols.append(f"(SELECT {agg} FROM {ident(t)} x WHERE customer_id = $1)")
        row = c.execute("SELECT " + ", ".join(cols), [customer_id]).fetchone()
    if row is None or row[0] is None:
        raise NotFoundError(f"customer {customer_id!r} has no profile in "
                            f"{ctx.settings.warehouse}")
    out: dict[str, Any] = _iso(json.loads(row[0]))
    for name, raw in zip(parts, row[1:], strict=True):
        if raw is None:
            continue
        value = _iso(json.loads(raw))
        if isinstance(value, dict):
            value.pop("customer_id", None)
        else:
            for item in value:
                item.pop("customer_id", None)
        out[name] = value
    return cast(CustomerProfile, out)


def _all_built(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name IN "
                      "('profiles', 'rfm', 'clv', 'segment_members', 'scores')").fetchone()
    return bool(row and row[0] == len(PROFILE_PARTS) + 1)


def _iso(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    if isinstance(value, str) and _TIMESTAMP.match(value):
        return value.replace(" ", "T", 1)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _need_360(con: duckdb.DuckDBPyConnection) -> list[str]:
    try:
        return [r[0] for r in con.execute("DESCRIBE customer_360").fetchall()]
    except duckdb.CatalogException:
        raise WarehouseError("no customer profiles yet; run `insightloop profiles build` "
                             "(or `insightloop demo`) first") from None


@dataclass(frozen=True)
class CustomerQuery:
    """Which customers a list or an export holds, and in which order. Every value is bound
    as an SQL parameter; the sort column is one of :data:`SORT_COLUMNS`."""

    segment_id: int | None = None
    segment_name: str | None = None
    rfm_segment: str | None = None
    value_tier: str | None = None
    country: str | None = None
    id_prefix: str | None = None
    min_monetary: float | None = None
    min_churn: float | None = None
    max_churn: float | None = None
    min_clv: float | None = None
    max_clv: float | None = None
    min_value_at_risk: float | None = None
    sort: str = "customer_id"
    descending: bool = False

    def __post_init__(self) -> None:
        if self.sort not in SORT_COLUMNS:
            raise ConfigError(f"sort must be one of {', '.join(SORT_COLUMNS)}, got "
                              f"{str(self.sort)[:64]!r}")
        for name in _NUMERIC:
            value = getattr(self, name)
            if value is not None and math.isnan(value):  # an infinite bound is fine
                raise ConfigError(f"{name} must be a number, got {value!r}")
        for name in ("min_churn", "max_churn"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ConfigError(f"{name} is a churn probability: give a number from 0 to "
                                  f"1, got {value!r}")

    def filters(self) -> list[tuple[str, str, Any]]:
        """(column, SQL condition with one ``?``, value) of every filter, set or not."""
        return [
            ("segment_id", "segment_id = ?", self.segment_id),
            ("segment_name", "segment_name = ?", self.segment_name),
            ("rfm_segment", "rfm_segment = ?", self.rfm_segment),
            ("value_tier", "value_tier = ?", self.value_tier),
            ("country", "country = ?", self.country),
            ("customer_id", "starts_with(customer_id, ?)", self.id_prefix),
            ("monetary", "monetary >= ?", self.min_monetary),
            ("churn_score", "churn_score >= ?", self.min_churn),
            ("churn_score", "churn_score <= ?", self.max_churn),
            ("clv", "clv >= ?", self.min_clv),
            ("clv", "clv <= ?", self.max_clv),
            ("value_at_risk", "value_at_risk >= ?", self.min_value_at_risk),
        ]

    def describe(self) -> str:
        """The applied filter and order in words: ``country = France; churn_score >= 0.5;
        sort value_at_risk desc`` (``all customers; sort ...`` without a filter)."""
        parts = [clause.replace("starts_with(customer_id, ?)", "customer_id starts with ?")
                 .replace("?", str(value)) for _, clause, value in self.filters()
                 if value is not None]
        order = f"sort {self.sort} {'desc' if self.descending else 'asc'}"
        return "; ".join([*(parts or ["all customers"]), order])


_NUMERIC = ("min_monetary", "min_churn", "max_churn", "min_clv", "max_clv",
            "min_value_at_risk")


def list_customers(ctx: Context, *, limit: int = 50, offset: int = 0,
                   query: CustomerQuery | None = None, **filters: Any) -> CustomerPage:
    """One page of customers with their main enrichments, and the filtered total.

    ``query`` (or its fields as keywords: ``country=``, ``min_churn=``, ``sort=``...) says
    which customers and in which order. Returns ``{"items": [...], "total", "limit",
    "offset", "next_offset", "filter"}`` (``next_offset`` is None on the last page).
    """
    query = query or CustomerQuery(**filters)
    with ctx.read() as con:
        page = _page(con, limit, offset, query.filters(), query.sort, query.descending)
    page["filter"] = query.describe()
    return page


def customer_filters(ctx: Context) -> CustomerFilters:
    """The values each choice column holds (most customers first), and the sort columns
    this warehouse has built."""
    with ctx.read() as con:
        cols = _need_360(con)
        out: dict[str, Any] = {"sort": [c for c in SORT_COLUMNS if c in cols]}
        for col in CHOICE_COLUMNS:
            out[col] = [str(r[0]) for r in con.execute(
                f"SELECT {ident(col)} FROM customer_360 WHERE {ident(col)} IS NOT NULL "
                f"GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?", [MAX_CHOICES]).fetchall()
                ] if col in cols else []
    return cast(CustomerFilters, out)


def customer_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Column -> SQL type of ``customer_360`` (a clear error while it is not built)."""
    _need_360(con)
    return {r[0]: str(r[1]) for r in con.execute("DESCRIBE customer_360").fetchall()}


def filter_sql(cols: list[str], filters: list[tuple[str, str, Any]]
               ) -> tuple[str, list[Any]]:
    """`` WHERE ...`` (or "") and its parameters for the filters that are set."""
    where, params = [], []
    for col, clause, value in filters:
        if value is None:
            continue
        if col not in cols:
            raise ConfigError(f"cannot filter on {col!r}: it is not built yet")
        where.append(clause)
        params.append(value)
    return (" WHERE " + " AND ".join(where)) if where else "", params


def count_customers(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> int:
    """How many rows of ``customer_360`` a :func:`filter_sql` condition selects."""
    row = con.execute(f"SELECT count(*) FROM customer_360{where}", params).fetchone()
    return int(row[0]) if row else 0


def _page(con: duckdb.DuckDBPyConnection, limit: int, offset: int,
          filters: list[tuple[str, str, Any]], sort: str, descending: bool) -> CustomerPage:
    """One page of ``customer_360`` on an open connection (see :func:`list_customers`)."""
    if not (1 <= limit <= 1000) or offset < 0:
        raise ConfigError("limit must be in 1..1000 and offset >= 0")
    cols = _need_360(con)
    if sort not in cols:
        raise ConfigError(f"cannot sort by {sort!r}: it is not built yet in this warehouse")
    cond, params = filter_sql(cols, filters)
    # Names from the fixed lists above only (sort checked against SORT_COLUMNS).
    shown = ", ".join(ident(c) for c in LIST_COLUMNS if c in cols)
    order = f'{ident(sort)} {"DESC" if descending else "ASC"} NULLS LAST, customer_id'
    # One scan of the view: the filtered total rides along as a window column.
    cur = con.execute(f"SELECT {shown}, count(*) OVER () AS __total FROM customer_360"
                      f"{cond} ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    # Past the end the window column is missing: count separately.
    total = int(rows[0][-1]) if rows else (count_customers(con, cond, params) if offset else 0)
    items = [cast(CustomerRow, plain(dict(zip(names[:-1], r[:-1], strict=True))))
             for r in rows]
    nxt = offset + limit if offset + limit < total else None
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "next_offset": nxt}


def product_names(ctx: Context, product_ids: list[str]) -> dict[str, str]:
    """Product id -> name: the ``products`` table's name, else the description most order
    lines give it (ids with neither are left out)."""
    ids = sorted({str(p) for p in product_ids if p is not None and str(p) != ""})
    if not ids:
        return {}
    with ctx.read() as con:
        parts = []
        if has_table(con, "products"):
            parts.append("SELECT product_id, nullif(trim(name), '') AS name, 0 AS src FROM "
                         "products WHERE product_id IN (SELECT unnest(?::VARCHAR[]))")
        if has_table(con, "orders"):
            parts.append("SELECT product_id, mode(nullif(trim(description), '')) AS name, "
                         "1 AS src FROM orders WHERE product_id IN (SELECT "
                         "unnest(?::VARCHAR[])) GROUP BY product_id")
        if not parts:
            return {}
        rows = con.execute("SELECT product_id, arg_min(name, src) FROM (" + " UNION ALL "
                           .join(parts) + ") WHERE name IS NOT NULL GROUP BY product_id",
                           [ids] * len(parts)).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def kpis(ctx: Context) -> Kpis:
    """Headline numbers: customers, orders, net revenue, active rate, average CLV.

    ``active_rate`` is the share of profiled customers with an order in the
    ``ACTIVE_DAYS`` days before the profile as-of date; ``avg_clv`` is None until
    ``insightloop clv build`` has run.
    """
    with ctx.read() as con:
        if not has_table(con, "profiles"):
            raise WarehouseError("no customer profiles yet; run `insightloop profiles build` "
                                 "(or `insightloop demo`) first")
        orders = con.execute("SELECT count(DISTINCT order_id), "
                             "coalesce(sum(quantity * unit_price), 0) FROM orders").fetchone()
        prof = con.execute(f"""SELECT count(*), avg(CASE WHEN orders_{ACTIVE_DAYS}d > 0
                               THEN 1.0 ELSE 0.0 END), max(as_of) FROM profiles""").fetchone()
        clv = (con.execute("SELECT avg(clv), count(clv) FROM clv").fetchone()
               if has_table(con, "clv") else None)
    assert orders is not None and prof is not None
    return {"customers": int(prof[0]), "orders": int(orders[0]),
            "net_revenue": float(orders[1]),
            "active_rate": None if prof[1] is None else float(prof[1]),
            "active_days": ACTIVE_DAYS,
            "avg_clv": None if clv is None or clv[0] is None else float(clv[0]),
            "clv_customers": 0 if clv is None else int(clv[1]),
            "as_of": prof[2].isoformat() if prof[2] is not None else None}


def customer_reviews(ctx: Context, customer_id: str, limit: int = 20) -> list[Review]:
    """A customer's latest reviews, with their sentiment when ``review_sentiment`` exists."""
    with ctx.read() as con:
        if not has_table(con, "reviews"):
            return []
        sent = has_table(con, "review_sentiment")
        cols = ([r[0] for r in con.execute("DESCRIBE review_sentiment").fetchall()]
                if sent else [])
        extra = [c for c in ("label", "score") if c in cols]
        if sent and extra and "review_id" in cols:
            picked = ", ".join(f"s.{ident(c)} AS {ident('sentiment_' + c)}" for c in extra)
            sql = (f"SELECT r.review_id, r.product_id, r.review_time, r.rating, r.text, "
                   f"{picked} FROM reviews r LEFT JOIN review_sentiment s USING (review_id) ")
        else:
            sql = ("SELECT r.review_id, r.product_id, r.review_time, r.rating, r.text "
                   "FROM reviews r ")
        frame = con.execute(sql + "WHERE r.customer_id = ? ORDER BY r.review_time DESC, "
                            "r.review_id LIMIT ?", [customer_id, limit]).df()
    return cast("list[Review]", records(frame))


def segment_members(ctx: Context, segment_id: int, limit: int = 50, offset: int = 0
                    ) -> CustomerPage:
    """One page of the customers of a segment (NotFoundError for an unknown segment)."""
    with ctx.read() as con:
        if not has_table(con, "segments"):
            raise WarehouseError("no segments yet; run `insightloop segments build` first")
        known = con.execute("SELECT count(*) FROM segments WHERE segment_id = ?",
                            [segment_id]).fetchone()
        if not known or not known[0]:
            raise NotFoundError(f"no segment with id {segment_id}")
        return _page(con, limit, offset, CustomerQuery(segment_id=segment_id).filters(),
                     "customer_id", False)
