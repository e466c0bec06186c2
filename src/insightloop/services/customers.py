"""Read-only use cases over ``customer_360``: paginated customer lists, KPIs, reviews.

Filters are values bound as SQL parameters; sort columns come from a fixed
list checked against the columns the view has, so nothing a caller sends is
ever spliced into SQL text.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

import duckdb
import numpy as np

from insightloop.errors import ConfigError, NotFoundError, WarehouseError
from insightloop.services.context import Context
from insightloop.services.records import plain, records
from insightloop.services.results import CustomerPage, CustomerProfile, CustomerRow, Kpis, Review
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import has_table

SORT_COLUMNS = ("customer_id", "monetary", "frequency", "recency_days", "avg_order_value",
                "clv", "churn_score")
LIST_COLUMNS = ("customer_id", "country", "frequency", "monetary", "recency_days",
                "avg_order_value", "rfm_segment", "value_tier", "segment_id", "segment_name",
                "clv", "churn_score")
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


def list_customers(ctx: Context, *, limit: int = 50, offset: int = 0,
                   segment_id: int | None = None, rfm_segment: str | None = None,
                   value_tier: str | None = None, country: str | None = None,
                   min_monetary: float | None = None, id_prefix: str | None = None,
                   sort: str = "customer_id", descending: bool = False) -> CustomerPage:
    """One page of customers with their main enrichments, and the filtered total.

    Returns ``{"items": [...], "total", "limit", "offset", "next_offset"}``
    (``next_offset`` is None on the last page).
    """
    if sort not in SORT_COLUMNS:
        raise ConfigError(f"sort must be one of {SORT_COLUMNS}, got {sort!r}")
    filters: list[tuple[str, str, Any]] = [
        ("segment_id", "segment_id = ?", segment_id),
        ("rfm_segment", "rfm_segment = ?", rfm_segment),
        ("value_tier", "value_tier = ?", value_tier),
        ("country", "country = ?", country),
        ("monetary", "monetary >= ?", min_monetary),
        ("customer_id", "starts_with(customer_id, ?)", id_prefix),
    ]
    with ctx.read() as con:
        return _page(con, limit, offset, filters, sort, descending)


def _page(con: duckdb.DuckDBPyConnection, limit: int, offset: int,
          filters: list[tuple[str, str, Any]], sort: str, descending: bool) -> CustomerPage:
    """One page of ``customer_360`` on an open connection (see :func:`list_customers`)."""
    if not (1 <= limit <= 1000) or offset < 0:
        raise ConfigError("limit must be in 1..1000 and offset >= 0")
    cols = _need_360(con)
    if sort not in cols:
        raise ConfigError(f"cannot sort by {sort!r}: it is not built yet in this warehouse")
    where, params = [], []
    for col, clause, value in filters:
        if value is None:
            continue
        if col not in cols:
            raise ConfigError(f"cannot filter on {col!r}: it is not built yet")
        where.append(clause)
        params.append(value)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    # Names from the fixed lists above only (sort checked against SORT_COLUMNS).
    shown = ", ".join(ident(c) for c in LIST_COLUMNS if c in cols)
    order = f'{ident(sort)} {"DESC" if descending else "ASC"} NULLS LAST, customer_id'
    # One scan of the view: the filtered total rides along as a window column.
    cur = con.execute(f"SELECT {shown}, count(*) OVER () AS __total FROM customer_360"
                      f"{cond} ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    if rows or offset == 0:
        total = int(rows[0][-1]) if rows else 0
    else:  # past the end: count separately
        row = con.execute(f"SELECT count(*) FROM customer_360{cond}", params).fetchone()
        total = int(row[0]) if row else 0
    items = [cast(CustomerRow, plain(dict(zip(names[:-1], r[:-1], strict=True))))
             for r in rows]
    nxt = offset + limit if offset + limit < total else None
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "next_offset": nxt}


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
        return _page(con, limit, offset, [("segment_id", "segment_id = ?", segment_id)],
                     "customer_id", False)
