"""The warehouse side of an erasure: the customer's rows deleted (or anonymised where a
total must survive), quarantine rows holding them deleted, their identifiers masked inside
other rows' free text, the file rewritten so the deleted bytes are gone, and a search of
every text column of every table.

Which tables hold a customer's rows is read from the capability declarations
(:func:`insightloop.capabilities.personal_data_map`), never from a list here: a table a new
capability declares with ``customer=`` is erased without a change to this module. A table
that is not declared but has a ``customer_id`` column is erased too and named in the result
(declare it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from insightloop.capabilities import personal_data_map
from insightloop.services.context import Context
from insightloop.services.privacy.subject import MASK, Subject, scrub_sql
from insightloop.storage.crypto import PREFIX, decrypt_column, rewrite_file
from insightloop.storage.sql import ident, literal
from insightloop.storage.warehouse import atomic, has_table

#: Tables whose rows are kept with the customer id set to NULL instead of deleted, so the
#: totals computed from them survive: order lines are revenue (a NULL customer is a guest
#: checkout in the canonical schema, so profiles, CLV and segments ignore them and the
#: revenue, product and cohort totals keep them).
ANONYMISE = {"orders": "customer_id"}
_TEXT = ("VARCHAR", "JSON")


def text_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every base table of the main schema with its VARCHAR and JSON columns."""
    rows = con.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_name = c.table_name "
        "AND t.table_schema = c.table_schema WHERE c.table_schema = 'main' "
        "AND t.table_type = 'BASE TABLE' AND c.data_type IN ('VARCHAR', 'JSON') "
        "ORDER BY c.table_name, c.ordinal_position").fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def collect_subject(con: duckdb.DuckDBPyConnection, customer_id: str) -> Subject:
    """The customer's e-mail addresses and names from ``customers`` (none when absent)."""
    found: dict[str, list[str]] = {"email": [], "name": []}
    if has_table(con, "customers"):
        cols = set(text_columns(con).get("customers", []))
        for col in found:
            if col in cols:
                rows = con.execute(
                    f"SELECT DISTINCT trim({ident(col)}) FROM customers WHERE customer_id = ? "
                    f"AND length(trim({ident(col)})) >= 3", [customer_id]).fetchall()
                found[col] = sorted(str(r[0]) for r in rows)
    return Subject(customer_id, tuple(found["email"]), tuple(found["name"]))


def _any_match(columns: list[str], subject: Subject) -> str:
    return " OR ".join(f"regexp_matches(CAST({ident(c)} AS VARCHAR), {literal(p)})"
                       for c in columns for _, p in subject.sql_patterns())


def erase_rows(ctx: Context, subject: Subject) -> dict[str, Any]:
    """Delete, anonymise and scrub in one transaction; counts per table (no identifiers)."""
    declared = personal_data_map()
    deleted: dict[str, int] = {}
    anonymised: dict[str, int] = {}
    scrubbed: dict[str, int] = {}
    undeclared: list[str] = []
    with ctx.warehouse.connect() as con, atomic(con):
        columns = text_columns(con)
        targets = {name: str(d["customer"]) for name, d in declared.items()
                   if d["customer"] and not d["view"] and name in columns}
        for name, cols in columns.items():
            if name not in declared and "customer_id" in cols:
                targets[name] = "customer_id"
                undeclared.append(name)
        for name, col in sorted(targets.items()):
            if col not in columns[name]:
                continue
            if ANONYMISE.get(name) == col:
                n = con.execute(f"UPDATE {ident(name)} SET {ident(col)} = NULL "
                                f"WHERE {ident(col)} = ?", [subject.customer_id]).fetchone()
                anonymised[name] = int(n[0]) if n else 0
            else:
                n = con.execute(f"DELETE FROM {ident(name)} WHERE {ident(col)} = ?",
                                [subject.customer_id]).fetchone()
                deleted[name] = int(n[0]) if n else 0
        if "quarantine" in columns:
            n = con.execute(f"DELETE FROM quarantine WHERE "
                            f"{_any_match(columns['quarantine'], subject)}").fetchone()
            deleted["quarantine"] = (int(n[0]) if n else 0) + _delete_sealed_quarantine(
                ctx, con, subject)
        for name, cols in sorted(columns.items()):
            d = declared.get(name, {})
            if name == "quarantine" or d.get("view"):
                continue
            for col in cols:
                # the id only in declared personal columns (elsewhere a product code may be
                # the same text); the e-mail and name in every text column
                patterns = [p for kind, p in subject.sql_patterns()
                            if kind != "customer_id" or col in d.get("personal", ())]
                total = sum(_scrub(con, name, col, p) for p in patterns)
                if total:
                    scrubbed[f"{name}.{col}"] = total
    return {"deleted": deleted, "anonymised": anonymised, "scrubbed": scrubbed,
            "undeclared": sorted(undeclared), "mask": MASK}


def _delete_sealed_quarantine(ctx: Context, con: duckdb.DuckDBPyConnection,
                              subject: Subject) -> int:
    """Delete the quarantined lines sealed at ingest (:func:`~insightloop.storage.crypto.
    seal_quarantine`) whose clear text holds the subject: each is opened with the key
    (no key: the ConfigError naming the setting, and nothing is erased), matched in SQL
    by the same patterns as the clear lines, and deleted by rowid."""
    sealed = con.execute("SELECT rowid, raw FROM quarantine WHERE starts_with(raw, ?)",
                         [PREFIX]).fetchall()
    if not sealed:
        return 0
    clear = decrypt_column(ctx.settings, [r[1] for r in sealed])
    match = " OR ".join(f"regexp_matches(clear, {literal(p)})"
                        for _, p in subject.sql_patterns())
    hit = con.execute(f"SELECT list(rid) FROM (SELECT unnest(?::BIGINT[]) AS rid, "
                      f"unnest(?::VARCHAR[]) AS clear) WHERE {match}",
                      [[r[0] for r in sealed], clear]).fetchone()
    rowids = hit[0] if hit and hit[0] else []
    if rowids:
        con.execute("DELETE FROM quarantine WHERE rowid IN (SELECT unnest(?::BIGINT[]))",
                    [rowids])
    return len(rowids)


def _scrub(con: duckdb.DuckDBPyConnection, table: str, col: str, pattern: str) -> int:
    """Mask ``pattern`` in ``table.col``; the number of rows changed."""
    n = con.execute(f"UPDATE {ident(table)} SET {ident(col)} = "
                    f"{scrub_sql(f'CAST({ident(col)} AS VARCHAR)', pattern)} "
                    f"WHERE regexp_matches(CAST({ident(col)} AS VARCHAR), {literal(pattern)})"
                    ).fetchone()
    return int(n[0]) if n else 0


def search_tables(ctx: Context, subject: Subject) -> list[dict[str, Any]]:
    """Every text column of every table where the subject is still found: ``{"table",
    "column", "kind", "rows"}`` (empty when nothing is left)."""
    found: list[dict[str, Any]] = []
    with ctx.warehouse.connect(read_only=True) as con:
        for table, cols in text_columns(con).items():
            checks = [(c, kind, p) for c in cols for kind, p in subject.sql_patterns()]
            sums = ", ".join(
                f"count(*) FILTER (WHERE regexp_matches(CAST({ident(c)} AS VARCHAR), "
                f"{literal(p)}))" for c, _, p in checks)
            row = con.execute(f"SELECT {sums} FROM {ident(table)}").fetchone() or ()
            found += [{"table": table, "column": c, "kind": kind, "rows": int(n)}
                      for (c, kind, _), n in zip(checks, row, strict=True) if n]
    return found


def rewrite_warehouse(ctx: Context) -> int:
    """Copy the warehouse into a new file and rename it over the old one, so no deleted row
    survives in free blocks (:func:`insightloop.storage.crypto.rewrite_file`); returns the
    new file's size in bytes."""
    return rewrite_file(ctx.warehouse, Path(ctx.settings.warehouse))
