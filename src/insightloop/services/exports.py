"""CSV exports of the customer list, read in chunks so a download of any size streams with
bounded memory (:func:`export_chunk`; the API streams them, ``api/routers/customers.py``).

Numbers are written plain (``1234.5``: no separators, no currency), timestamps ISO; NULL and
NaN are empty. A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading ``'`` so a spreadsheet does not run it as a formula (OWASP "CSV
injection"). Chunks after the first continue from the last row's sort key (keyset
pagination), so each is one scan of the view that keeps only ``limit`` rows, however far
into the list it is.

Consent: every export leaves out the customers who withdrew the use of their data for the
export's purpose (``marketing`` by default), as decided by the engagement capability's one
decision function (:func:`insightloop.services.engagement.consent.withdrawn_ids`); the
result says how many were left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from insightloop.errors import ConfigError
from insightloop.services.audiences import audience_frame, get_audience
from insightloop.services.audiences.saved import write_members
from insightloop.services.context import Context
from insightloop.services.customers import (
    LIST_COLUMNS,
    CustomerQuery,
    count_customers,
    customer_columns,
    filter_sql,
)
from insightloop.services.engagement.consent import withdrawn_ids
from insightloop.services.results import CsvChunk
from insightloop.services.results.privacy import ConsentedExport
from insightloop.storage.pseudonym import pseudonym_sql
from insightloop.storage.sql import ident, literal

# A text cell starting with one of these is a formula to a spreadsheet.
_FORMULA = r"^[=+\-@\t\r]"
_QUOTED = r'[",\r\n]'
QUOTE = "'"


def export_chunk(ctx: Context, query: CustomerQuery, offset: int = 0, limit: int = 10_000,
                 after: list[Any] | None = None, pseudonymise: bool = False,
                 purpose: str = "marketing") -> CsvChunk:
    """``limit`` rows of the customers ``query`` selects, in its order, as CSV lines without
    a header (the list's columns, in :data:`LIST_COLUMNS` order): from row ``offset``, or,
    given ``after`` (the ``after`` of the previous chunk), from the row after that one.

    ``total`` (the number of rows the filter matches) is counted for the first chunk only
    (``after`` None); ``after`` is None once a chunk is short (the end of the list).
    ``pseudonymise``: the customer id column holds the keyed pseudonym
    (:mod:`insightloop.storage.pseudonym`; ConfigError without a key) instead of the id.
    Customers who withdrew consent for ``purpose`` are left out (``total`` too).
    """
    if not (1 <= limit <= 100_000) or offset < 0:
        raise ConfigError("limit must be in 1..100000 and offset >= 0")
    withdrawn = withdrawn_ids(ctx, purpose)
    with ctx.read() as con:
        types = customer_columns(con)
        cols = list(types)
        if query.sort not in types:
            raise ConfigError(f"cannot sort by {query.sort!r}: it is not built yet in this "
                              "warehouse")
        where, params = _consented(*filter_sql(cols, query.filters()), withdrawn)
        if after is not None:
            cond, more = _after(query, after)
            where = f"{where} AND {cond}" if where else f" WHERE {cond}"
            params, offset = [*params, *more], 0
        shown = [c for c in LIST_COLUMNS if c in types]
        line = " || ',' || ".join(
            pseudonym_sql(ctx.settings, "customer_id") if pseudonymise and c == "customer_id"
            else _csv_cell(c, types[c]) for c in shown)
        sort = ident(query.sort)
        order = f"{sort} {'DESC' if query.descending else 'ASC'} NULLS LAST, customer_id"
        # The chunk's customers are picked on narrow rows (sort key and id), then DuckDB
        # writes their CSV lines and joins them: one string per chunk, no loop over rows.
        row = con.execute(
            f"SELECT string_agg(__line, chr(13) || chr(10) ORDER BY __n), count(*), "
            f"last(__key ORDER BY __n), last(customer_id ORDER BY __n) FROM (SELECT {line} "
            f"AS __line, {sort} AS __key, customer_id, row_number() OVER (ORDER BY {order}) "
            f"AS __n FROM customer_360 WHERE customer_id IN (SELECT customer_id FROM "
            f"customer_360{where} ORDER BY {order} LIMIT ? OFFSET ?))",
            [*params, limit, offset]).fetchone()
        total = count_customers(con, *_consented(*filter_sql(cols, query.filters()),
                                                 withdrawn)) if after is None else None
    text, rows, key, cid = row if row is not None else (None, 0, None, None)
    return {"columns": shown, "text": text + "\r\n" if text else "", "rows": int(rows),
            "total": total, "after": [key, cid] if rows == limit else None}


def _consented(where: str, params: list[Any], withdrawn: list[str]
               ) -> tuple[str, list[Any]]:
    """``where`` (a :func:`filter_sql` condition) also leaving out ``withdrawn`` ids."""
    if not withdrawn:
        return where, params
    cond = "NOT list_contains(?::VARCHAR[], customer_id)"
    return (f"{where} AND {cond}" if where else f" WHERE {cond}"), [*params, withdrawn]


def export_audience(ctx: Context, name: str, path: str | Path, format: str = "csv",
                    columns: Sequence[str] = (), version: int | None = None,
                    purpose: str = "marketing") -> ConsentedExport:
    """Write the members of a saved audience (``customer_id`` and ``columns``) who have not
    withdrawn consent for ``purpose`` to ``path`` (CSV or Parquet; complete or not at all),
    and say how many were left out for consent."""
    if format not in ("csv", "parquet"):
        raise ConfigError(f"export format {format!r} is not supported: use csv or parquet")
    info = get_audience(ctx, name, version, live=False)
    members = audience_frame(ctx, info["canonical"], columns)
    keep = ~members["customer_id"].astype(str).isin(withdrawn_ids(ctx, purpose))
    frame = members[keep.to_numpy()]
    target = write_members(frame, path, format, name)
    return {"name": name, "version": info["version"], "path": str(target), "format": format,
            "rows": len(frame), "columns": list(frame.columns), "purpose": purpose,
            "excluded_for_consent": int(len(members) - len(frame))}


def _after(query: CustomerQuery, after: list[Any]) -> tuple[str, list[Any]]:
    """The condition "comes after (sort value, customer id)" in ``ORDER BY sort [DESC]
    NULLS LAST, customer_id``, and its parameters."""
    if len(after) != 2 or after[1] is None:
        raise ConfigError("after must be [sort value, customer id] of the previous chunk")
    value, cid = after
    sort = ident(query.sort)
    if value is None:  # inside the NULLs at the end: by id only
        return f"({sort} IS NULL AND customer_id > ?)", [str(cid)]
    beyond = "<" if query.descending else ">"
    return (f"({sort} IS NULL OR {sort} {beyond} ? OR ({sort} = ? AND customer_id > ?))",
            [value, value, str(cid)])


def _csv_cell(col: str, sql_type: str) -> str:
    """The SQL of one CSV cell, as text: formulas guarded, then quoted when it holds a
    comma, a quote or a line break (RFC 4180); NULL, NaN and infinities empty; numbers as
    DuckDB writes them (shortest round-trip form). Names from :data:`LIST_COLUMNS` only."""
    name = ident(col)
    if sql_type.startswith("VARCHAR"):
        guarded = (f"CASE WHEN regexp_matches({name}, {literal(_FORMULA)}) "
                   f"THEN {literal(QUOTE)} || {name} ELSE {name} END")
        return (f"(CASE WHEN {name} IS NULL THEN '' WHEN regexp_matches({name}, "
                f"{literal(_QUOTED)}) THEN '\"' || replace({guarded}, '\"', '\"\"') || '\"' "
                f"ELSE {guarded} END)")
    if sql_type in ("DOUBLE", "FLOAT", "REAL"):
        return f"coalesce(CASE WHEN isfinite({name}) THEN {name}::VARCHAR END, '')"
    return f"coalesce({name}::VARCHAR, '')"
