"""Audiences counted live: the filter language (``features.audiences``) run on
``customer_360`` joined with the columns a marketer also filters on.

Beyond ``customer_360``'s own columns a filter may use, when their tables exist:
``has_recommendation`` / ``recommended_product`` (the top recommendation, table
``recommendations``), ``uplift`` / ``uplift_arm`` / ``sleeping_dog`` (the best arm's
predicted uplift; ``sleeping_dog`` when every arm's uplift is negative, table
``uplift_scores``) and ``has_email`` (a non-empty address in ``customers``). Personal
columns (``customers.email``, ``name``, ...) are never filterable; :func:`audience_frame`
returns them only when they are asked for by name.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import duckdb
import pandas as pd

from insightloop.capabilities import personal_data_map
from insightloop.errors import ConfigError, WarehouseError
from insightloop.features.audiences import ALIASES, CompiledFilter, compile_filter, render_filter
from insightloop.services.context import Context
from insightloop.services.results.audiences import AudienceCount
from insightloop.storage.sql import ident

SAMPLE_SIZE = 10
VIEW = "customer_360"
#: (table, per-customer SELECT over it, {column: expression over the joined row ``j``})
_EXTRAS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("recommendations",
     "SELECT customer_id, arg_min(product_id, rank) AS recommended_product "
     "FROM recommendations GROUP BY customer_id",
     {"has_recommendation": "j.customer_id IS NOT NULL",
      "recommended_product": "j.recommended_product"}),
    ("uplift_scores",
     "SELECT customer_id, max(uplift) AS uplift, arg_max(arm, uplift) AS uplift_arm, "
     "bool_and(uplift < 0) AS sleeping_dog FROM uplift_scores GROUP BY customer_id",
     {"uplift": "j.uplift", "uplift_arm": "j.uplift_arm",
      "sleeping_dog": "coalesce(j.sleeping_dog, false)"}),
    ("customers",
     "SELECT customer_id, bool_or(nullif(trim(email), '') IS NOT NULL) AS has_email "
     "FROM customers GROUP BY customer_id",
     {"has_email": "coalesce(j.has_email, false)"}),
)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = current_schema()").fetchall()
    return {r[0] for r in rows}


def _source(con: duckdb.DuckDBPyConnection) -> str:
    """SQL of the relation filters run on: customer_360 and the extra columns."""
    tables = _tables(con)
    if VIEW not in tables:
        raise WarehouseError("the warehouse has no customer_360 yet, so there is nothing to "
                             "select an audience from: run `insightloop profiles build`")
    own = {r[0] for r in con.execute(f"DESCRIBE {VIEW}").fetchall()}
    cols, joins = ["c.*"], []
    for i, (table, select, extra) in enumerate(_EXTRAS):
        new = {name: expr for name, expr in extra.items() if name not in own}
        if table not in tables or not new:
            continue
        alias = f"j{i}"
        joins.append(f"LEFT JOIN ({select}) {alias} ON {alias}.customer_id = c.customer_id")
        cols += [f"{expr.replace('j.', alias + '.')} AS {ident(name)}"
                 for name, expr in new.items()]
    return f"SELECT {', '.join(cols)} FROM {VIEW} c {' '.join(joins)}"


def _schema(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE {source}").fetchall()}


def audience_schema(ctx: Context) -> dict[str, str]:
    """The columns a filter may use (customer_360 plus the extras) and their DuckDB types."""
    with ctx.read() as con:
        return _schema(con, _source(con))


def _compiled(con: duckdb.DuckDBPyConnection, where: str) -> tuple[str, CompiledFilter]:
    source = _source(con)
    return source, compile_filter(where, _schema(con, source))


def count_audience(ctx: Context, where: str) -> int:
    """How many customers of customer_360 the filter ``where`` selects now."""
    with ctx.read() as con:
        source, f = _compiled(con, where)
        row = con.execute(f"SELECT count(*) FROM ({source}) WHERE {f.sql}",
                          list(f.params)).fetchone()
    return int(row[0]) if row else 0


def _describe(con: duckdb.DuckDBPyConnection, source: str, schema: dict[str, str],
              where: str, sample: int) -> AudienceCount:
    f = compile_filter(where, schema)
    row = con.execute(f"SELECT count(*) FILTER (WHERE {f.sql}), count(*) FROM ({source})",
                      list(f.params)).fetchone()
    first = [] if sample <= 0 else con.execute(
        f"SELECT customer_id FROM ({source}) WHERE {f.sql} ORDER BY customer_id LIMIT ?",
        [*f.params, int(sample)]).fetchall()
    count, total = row if row else (0, 0)
    return {"where": where, "canonical": render_filter(where, schema), "count": int(count),
            "total": int(total), "sample": [str(r[0]) for r in first]}


def describe_audience(ctx: Context, where: str, sample: int = SAMPLE_SIZE) -> AudienceCount:
    """The live count of ``where``, its canonical form, the customers in all, and the
    first ``sample`` members by id."""
    with ctx.read() as con:
        source = _source(con)
        return _describe(con, source, _schema(con, source), where, sample)


def describe_audiences(ctx: Context, wheres: Sequence[str], sample: int = 0
                       ) -> list[AudienceCount | str]:
    """:func:`describe_audience` of each filter on one connection; a filter that no longer
    fits the warehouse (a column gone) gives its error message instead."""
    out: list[AudienceCount | str] = []
    with ctx.read() as con:
        source = _source(con)
        schema = _schema(con, source)
        for where in wheres:
            try:
                out.append(_describe(con, source, schema, where, sample))
            except ConfigError as exc:
                out.append(str(exc))
    return out


def audience_ids(ctx: Context, where: str) -> list[str]:
    """The ids of the customers ``where`` selects, sorted."""
    with ctx.read() as con:
        source, f = _compiled(con, where)
        rows = con.execute(f"SELECT customer_id FROM ({source}) WHERE {f.sql} "
                           "ORDER BY customer_id", list(f.params)).fetchall()
    return [str(r[0]) for r in rows]


def personal_columns() -> tuple[str, ...]:
    """The personal columns of ``customers`` an export or a campaign may ask for by name."""
    return tuple(personal_data_map().get("customers", {}).get("personal", ()))


def _unknown(name: str, known: Sequence[str]) -> ConfigError:
    close = difflib.get_close_matches(name, known, n=4, cutoff=0.5)
    hint = f"closest: {', '.join(close)}" if close else "see `insightloop audiences columns`"
    return ConfigError(f"audience column {name!r} does not exist ({hint})")


def audience_frame(ctx: Context, where: str, columns: Sequence[str] = ()) -> pd.DataFrame:
    """``customer_id`` and ``columns`` of the customers ``where`` selects, sorted by id.
    ``columns`` may name any filterable column and, asked for explicitly, the personal
    columns of ``customers`` (``email``, ``name``, ...); nothing personal otherwise."""
    personal = personal_columns()
    with ctx.read() as con:
        source, f = _compiled(con, where)
        schema = _schema(con, source)
        wanted = list(dict.fromkeys(c if c in schema or c in personal else
                                    ALIASES.get(c.lower(), c)
                                    for c in columns if c != "customer_id"))
        for name in wanted:
            if name not in schema and name not in personal:
                raise _unknown(name, [*schema, *personal])
        picked = [f"a.{ident(c)}" if c in schema else f"p.{ident(c)}" for c in wanted]
        join = ""
        if any(c not in schema for c in wanted):
            if "customers" not in _tables(con):
                raise WarehouseError("personal columns come from the customers table, which "
                                     "is not loaded: run `insightloop ingest customers FILE`")
            join = ("LEFT JOIN (SELECT * FROM customers QUALIFY row_number() OVER "
                    "(PARTITION BY customer_id) = 1) p ON p.customer_id = a.customer_id")
        sql = (f"SELECT a.customer_id{''.join(', ' + p for p in picked)} "
               f"FROM (SELECT * FROM ({source}) WHERE {f.sql}) a {join} ORDER BY a.customer_id")
        return con.execute(sql, list(f.params)).df()
