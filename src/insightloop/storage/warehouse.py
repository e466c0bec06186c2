"""The embedded DuckDB warehouse: connections, schema, transactions, frames.

The warehouse file is the system of record. Every write that changes more than
one row runs inside :meth:`Warehouse.transaction`, so a crash or Ctrl-C leaves
the file as it was before the command started.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from insightloop.errors import NotFoundError, WarehouseError
from insightloop.storage.schema import (
    INGEST_LOG_DDL,
    QUARANTINE_DDL,
    TABLES,
    create_table_sql,
)

if TYPE_CHECKING:
    import ibis.backends.duckdb

    from insightloop.settings import Settings


class Warehouse:
    """Handle on a DuckDB warehouse file.

    Parameters
    ----------
    path : Path
        Database file; created (with its folder and the canonical schema) on
        first write. ``":memory:"`` gives a throw-away in-memory warehouse.
    """

    def __init__(self, path: Path | str, memory_limit: str | None = None) -> None:
        self.path = Path(path) if str(path) != ":memory:" else path
        self.memory_limit = memory_limit
        self._memory_con: duckdb.DuckDBPyConnection | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Warehouse:
        """The warehouse named by ``settings``, with its memory limit."""
        return cls(settings.warehouse, memory_limit=settings.memory_limit)

    def _configure(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        if self.memory_limit:
            try:
                con.execute(f"SET memory_limit = '{self.memory_limit}'")
            except duckdb.Error as exc:
                raise WarehouseError(
                    f"invalid memory limit {self.memory_limit!r} (expected e.g. '2GB'): {exc}"
                ) from exc
        return con

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

    @property
    def exists(self) -> bool:
        return isinstance(self.path, Path) and self.path.exists()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open a connection (schema ensured on write connections)."""
        if not isinstance(self.path, Path):
            if self._memory_con is None:
                self._memory_con = self._configure(duckdb.connect(":memory:"))
                self.ensure_schema(self._memory_con)
            yield self._memory_con
            return
        if read_only:
            if not self.path.exists():
                raise WarehouseError(
                    f"warehouse {self.path} does not exist yet; run `insightloop ingest` "
                    "or `insightloop demo` first, or pass --warehouse"
                )
            con = self._configure(duckdb.connect(str(self.path), read_only=True))
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._configure(duckdb.connect(str(self.path)))
            self.ensure_schema(con)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write connection inside BEGIN/COMMIT; any exception (Ctrl-C too) rolls back."""
        with self.connect() as con, atomic(con):
            yield con

    @staticmethod
    def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
        for spec in TABLES.values():
            con.execute(create_table_sql(spec))
        con.execute(QUARANTINE_DDL)
        con.execute(INGEST_LOG_DDL)

    # -- convenience readers/writers -------------------------------------------------
    def has_table(self, name: str) -> bool:
        if not self.exists and isinstance(self.path, Path):
            return False
        with self.connect(read_only=isinstance(self.path, Path)) as con:
            return has_table(con, name)

    def table(self, name: str) -> pd.DataFrame:
        """Read a whole table into pandas (for small tables and tests)."""
        return self.query(f"SELECT * FROM {_ident(name)}", table=name)

    def query(self, sql: str, params: list[Any] | None = None, table: str | None = None
              ) -> pd.DataFrame:
        with self.connect(read_only=isinstance(self.path, Path)) as con:
            if table is not None and not has_table(con, table):
                raise NotFoundError(
                    f"table {table!r} is not in warehouse {self.path}; build it first"
                )
            return con.execute(sql, params or []).df()

    def write_frame(self, name: str, frame: pd.DataFrame, *, replace: bool = True) -> int:
        """Write a pandas frame as table ``name`` atomically; returns the row count."""
        with self.transaction() as con:
            write_frame(con, name, frame, replace=replace)
        return len(frame)

    def ibis(self, con: duckdb.DuckDBPyConnection) -> ibis.backends.duckdb.Backend:
        """An Ibis backend over an open connection (engine-neutral pipelines run on it)."""
        import ibis

        return ibis.duckdb.from_connection(con)


@contextmanager
def atomic(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN/COMMIT on an open connection; any exception (Ctrl-C too) rolls back."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def write_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame,
                *, replace: bool = True) -> None:
    """Write ``frame`` as table ``name`` on an open connection (caller owns the transaction)."""
    con.register("__frame", frame)
    try:
        if replace:
            con.execute(f"CREATE OR REPLACE TABLE {_ident(name)} AS SELECT * FROM __frame")
        elif has_table(con, name):
            con.execute(f"INSERT INTO {_ident(name)} BY NAME SELECT * FROM __frame")
        else:
            con.execute(f"CREATE TABLE {_ident(name)} AS SELECT * FROM __frame")
    finally:
        con.unregister("__frame")


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise WarehouseError(f"invalid table name {name!r}")
    return f'"{name}"'
