"""Statements that may run outside the ingest transaction: they touch temp objects only.

Staging and typing build connection-local temp tables; they run before the ingest
transaction because DuckDB builds temp tables faster outside one, and because ``rowid``
(which numbers staged records by line) is transaction-local inside one. So that nothing
built from a file's names can change the warehouse there, every such statement runs
through :func:`execute_temp`: exactly one statement (see
:func:`~insightloop.storage.sql.execute_one`), and that statement is a ``SELECT`` or a
``CREATE TEMP TABLE/VIEW ... AS SELECT``, whose query part cannot write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from insightloop.storage.sql import UnsafeSqlError, execute_one, literal

_TEMP_PREFIXES = ("CREATE TEMP TABLE ", "CREATE TEMP VIEW ", "SELECT ", "DESCRIBE SELECT ")


def execute_temp(con: duckdb.DuckDBPyConnection, sql: str,
                 params: Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Run one statement that can only read tables or create a temp table / view."""
    text = sql.lstrip()
    if not text.startswith(_TEMP_PREFIXES):
        raise UnsafeSqlError(f"refused a staging statement that is not a SELECT or a "
                             f"CREATE TEMP: {text[:60]!r}; nothing was run")
    return execute_one(con, text, params)


def one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The first column of the first row of a fixed (data-free) query, as an int."""
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def first_line(exc: Exception) -> str:
    """The first line of an exception's message (DuckDB adds context lines)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def values_sql(*values: str | int | datetime) -> str:
    """``values`` as comma-separated SQL literals (text, integer, timestamp).

    For the ingest path's few fixed statements, instead of bound parameters: the Python
    DuckDB client imports pandas (seconds of start-up) at a statement's first parameter.
    """
    out = []
    for value in values:
        if isinstance(value, datetime):
            out.append(f"{literal(value.isoformat(sep=' '))}::TIMESTAMP")
        elif isinstance(value, int):
            out.append(str(int(value)))
        else:
            out.append(literal(value))
    return ", ".join(out)
