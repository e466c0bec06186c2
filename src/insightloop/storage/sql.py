"""The one place SQL text is built from names and values that are not literals in our code.

Every identifier that comes from data (a CSV header, a JSON key, a Parquet column, a
table or column name chosen by a user) goes through :func:`ident`; every string value
that cannot be bound as a parameter (file paths in ``read_csv(...)``, option values)
goes through :func:`literal`. :func:`execute_one` refuses a statement string that
parses as more than one statement, so a mistake in quoting can never chain a second
statement onto ours.

Examples
--------
>>> ident('customer_id", chr(10)); DROP TABLE orders; --')
'"customer_id"", chr(10)); DROP TABLE orders; --"'
>>> literal("O'Brien")
"'O''Brien'"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from insightloop.errors import InsightloopError

MAX_IDENT_CHARS = 10_000


class UnsafeSqlError(InsightloopError, ValueError):
    """A name or statement that cannot be used safely in SQL."""


def ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier, any ``"`` doubled (NUL refused)."""
    if not isinstance(name, str):
        raise UnsafeSqlError(f"an SQL name must be text, got {type(name).__name__}")
    if "\x00" in name:
        raise UnsafeSqlError(f"the name {name[:60]!r} contains a NUL character")
    if not name:  # DuckDB cannot parse "" (a zero-length quoted identifier)
        raise UnsafeSqlError("an SQL name cannot be empty")
    if len(name) > MAX_IDENT_CHARS:
        raise UnsafeSqlError(
            f"a name of {len(name):,} characters is too long (at most {MAX_IDENT_CHARS:,})")
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """``value`` as a single-quoted SQL string literal, any ``'`` doubled (NUL refused)."""
    if "\x00" in value:
        raise UnsafeSqlError(f"the text {value[:60]!r} contains a NUL character")
    return "'" + value.replace("'", "''") + "'"


def execute_one(con: duckdb.DuckDBPyConnection, sql: str,
                params: Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Execute exactly one statement; a string holding several is refused, not run."""
    count = len(duckdb.extract_statements(sql))
    if count != 1:
        raise UnsafeSqlError(f"expected one SQL statement, got {count}; nothing was run")
    return con.execute(sql, list(params) if params is not None else [])
