"""Hostile text for the SQL-safety property tests, and a fingerprint of a whole warehouse.

:func:`fingerprint` hashes the content of every table (row count and the sum of the row
hashes), the column list of every table and view, the SQL of every view, every user
macro and every attached database, so "the warehouse is unchanged" is one equality.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from hypothesis import example
from hypothesis import strategies as st

from insightloop.storage.sql import ident

# Pieces that end a literal or an identifier, chain a statement, comment out the rest,
# or are special to LIKE / parameters / the shell; joined at random by ``hostile_text``.
PIECES = (
    "'", '"', "''", '""', ";", "--", "/*", "*/", "\n", "\r\n", "\t", "\x00", "\\", "%", "_",
    "?", "$1", ")", "(", ",", "`", "[", "]", "{", "}", "\u202e", "é", "中文", "🙂", "\ufeff",
    "' OR '1'='1", '"; DROP TABLE orders; --', "'; DELETE FROM orders; --",
    "x\"); CREATE TABLE pwned AS SELECT 42 AS x; --", "'); ATTACH 'pwned.db' AS p; --",
    "1; UPDATE profiles SET monetary = 0", "UNION SELECT * FROM api_keys",
    "../../../../etc/passwd", "customer_id", "17850", "85123A",
)
TEN_KB = "x" * 10_000 + "'; DROP TABLE orders; --"
# Always tried (``hypothesis.example``): the cases a LIKE, a spliced literal or a spliced
# name would get wrong.
CLASSIC = ("%", "_", "' OR '1'='1", "x' OR 1=1 --", '" OR ""="', "United Kingdom'--",
           "1; DROP TABLE orders", "\x00")


def with_classics(test: Any) -> Any:
    """Decorate a one-argument ``@given`` test so that it also runs on every :data:`CLASSIC`."""
    for text in CLASSIC:
        test = example(text)(test)
    return test


def hostile_text(max_pieces: int = 6) -> st.SearchStrategy[str]:
    """Text made of hostile pieces and arbitrary unicode (NUL included), or 10 KB of it."""
    piece = st.one_of(st.sampled_from(PIECES), st.text(max_size=4))
    return st.one_of(st.lists(piece, min_size=1, max_size=max_pieces).map("".join),
                     st.just(TEN_KB), st.sampled_from(PIECES))


def fingerprint_con(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Everything that a statement smuggled into a query could change, as plain values."""
    out: dict[str, Any] = {}
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() "
                               "ORDER BY table_name").fetchall():
        out[f"table:{name}"] = con.execute(
            f"SELECT count(*), sum(hash(t))::VARCHAR FROM {ident(name)} t").fetchone()
    out["columns"] = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE NOT internal ORDER BY ALL").fetchall()
    out["views"] = con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal "
                               "ORDER BY ALL").fetchall()
    out["macros"] = con.execute("SELECT function_name FROM duckdb_functions() "
                                "WHERE NOT internal ORDER BY ALL").fetchall()
    out["databases"] = con.execute("SELECT database_name FROM duckdb_databases() "
                                   "ORDER BY ALL").fetchall()
    return out


def fingerprint(path: Path) -> dict[str, Any]:
    """:func:`fingerprint_con` of the warehouse file at ``path`` (opened read-only)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return fingerprint_con(con)
