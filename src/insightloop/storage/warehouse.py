"""The embedded DuckDB warehouse: connections, schema, transactions, frames.

The warehouse file is the system of record. Every write that changes more than
one row runs inside :meth:`Warehouse.transaction`, so a crash or Ctrl-C leaves
the file as it was before the command started.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from insightloop import capabilities
from insightloop.capabilities.spec import Columns360
from insightloop.errors import NotFoundError, WarehouseError
from insightloop.settings import env_flag
from insightloop.storage.integrity import check_file, damaged, forget_file, signature, trust_file
from insightloop.storage.integrity import first_line as _first_line
from insightloop.storage.integrity import is_damage as _is_damage
from insightloop.storage.integrity import open_duckdb as _open
from insightloop.storage.lake import Lake, is_lake
from insightloop.storage.migrations import SchemaState, check_readable, migrate
from insightloop.storage.sql import execute_one, ident, literal

READ_ONLY_ENV = "INSIGHTLOOP_READ_ONLY"

if TYPE_CHECKING:
    import ibis.backends.duckdb
    import pandas as pd

    from insightloop.settings import Settings


class Warehouse:
    """Handle on a DuckDB warehouse file.

    Parameters
    ----------
    path : Path
        Database file; created (with its folder and the canonical schema) on
        first write. ``":memory:"`` gives a throw-away in-memory warehouse.
    memory_limit : str, optional
        DuckDB memory limit, e.g. ``"2GB"``.
    read_only : bool, optional
        Refuse every write open with a clear message (reads still work); default:
        the ``INSIGHTLOOP_READ_ONLY`` environment variable.

    Every open checks the file first (:func:`check_file`): a folder, an empty or
    foreign file, a damaged header or a truncated file is refused; a write open also
    verifies the checksum of every block, then runs pending schema migrations
    (:mod:`insightloop.storage.migrations`), all before anything is written.
    """

    def __init__(self, path: Path | str, memory_limit: str | None = None,
                 read_only: bool | None = None) -> None:
        self.path = Path(path) if str(path) != ":memory:" else path
        self.memory_limit = memory_limit
        self.read_only = env_flag(READ_ONLY_ENV) if read_only is None else read_only
        self._memory_con: duckdb.DuckDBPyConnection | None = None
        self.last_migration: tuple[SchemaState, SchemaState] | None = None
        #: The lake when ``path`` names a lake folder (:mod:`insightloop.storage.lake`).
        self.lake: Lake | None = Lake(path) if is_lake(path) else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Warehouse:
        """The warehouse named by ``settings``, with its memory limit and read-only flag."""
        return cls(settings.warehouse, memory_limit=settings.memory_limit,
                   read_only=settings.read_only)

    @classmethod
    def scratch(cls, folder: Path, memory_limit: str | None = None) -> Warehouse:
        """A throw-away warehouse file in ``folder`` (the caller removes the folder), for
        work staged before it reaches the real warehouse (ingest into a lake)."""
        return cls(folder / "scratch.duckdb", memory_limit=memory_limit, read_only=False)

    def _configure(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        if self.memory_limit:
            try:
                con.execute(f"SET memory_limit = {literal(self.memory_limit)}")
            except duckdb.Error as exc:
                con.close()
                raise WarehouseError(
                    f"invalid memory limit {self.memory_limit!r} (expected e.g. '2GB'): {exc}"
                ) from exc
        return con

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

    @property
    def exists(self) -> bool:
        if self.lake is not None:
            return bool(self.lake.tables())
        return isinstance(self.path, Path) and self.path.exists()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open a connection: checked, and migrated when it is a write connection.

        Raises
        ------
        WarehouseError
            Missing (on a read), read-only (on a write), damaged, locked by another
            process, or made by a newer release; damage found while the connection is
            in use is reported the same way.
        """
        if self.lake is not None:
            with self._lake_connect(read_only or self.read_only) as con:
                yield con
            return
        if not isinstance(self.path, Path):
            if self._memory_con is None:
                self._memory_con = self._configure(duckdb.connect(":memory:"))
                self.last_migration = migrate(self._memory_con, ":memory:")
            yield self._memory_con
            return
        path = self.path
        if read_only or self.read_only:
            if not path.exists():
                raise WarehouseError(
                    f"warehouse {path} does not exist yet; run `insightloop ingest` "
                    "or `insightloop demo` first, or pass --warehouse")
            if not read_only:
                raise WarehouseError(
                    f"warehouse {path} is read-only here ({READ_ONLY_ENV}=1 or read_only in "
                    "the settings) and this command writes to it; run it where the warehouse "
                    "may be written")
            check_file(path, checksums=False)
            con = self._configure(_open(path, read_only=True))
            try:
                _check_version(con, path)
            except BaseException:
                con.close()
                raise
        else:
            if path.exists():
                check_file(path, checksums=True)
            else:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise WarehouseError(
                        f"cannot create the folder of warehouse {path}: {exc.strerror or exc}; "
                        "pass --warehouse with a writable location") from exc
            con = self._configure(_open(path, read_only=False))
            try:
                self.last_migration = migrate(con, str(path))
            except BaseException:
                con.close()
                raise
        try:
            yield con
        except duckdb.Error as exc:
            con.close()
            forget_file(path)
            if _is_damage(exc):
                raise damaged(path, _first_line(exc).removeprefix("IO Error: ")) from exc
            raise
        except BaseException:
            con.close()
            raise
        con.close()
        if not read_only:
            trust_file(path)

    @contextmanager
    def _lake_connect(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection reading the lake: the canonical schema (empty
        tables) with one view per lake table in place of its table."""
        lake = self.lake
        assert lake is not None
        if not read_only:
            raise WarehouseError(
                f"warehouse {lake.root} is a lake folder: it is written by the Spark stages "
                "only (INSIGHTLOOP_ENGINE=spark: ingest, profiles build, clv build, ...); "
                "this command does not run on a lake. Run it with INSIGHTLOOP_ENGINE=spark, "
                "or point --warehouse at a .duckdb file (docs/scale-out.md)")
        if not lake.tables():
            raise WarehouseError(
                f"lake {lake.root} has no tables yet; run `insightloop ingest` with "
                "INSIGHTLOOP_ENGINE=spark first, or pass --warehouse")
        con = self._configure(duckdb.connect(":memory:"))
        try:
            attach_lake(con, lake)
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
        """Create missing canonical tables and bring the schema to this release's version."""
        migrate(con, "(open connection)")

    # -- convenience readers/writers -------------------------------------------------
    def has_table(self, name: str) -> bool:
        if self.lake is not None:
            return self.lake.exists(name)
        if not self.exists and isinstance(self.path, Path):
            return False
        with self.connect(read_only=isinstance(self.path, Path)) as con:
            return has_table(con, name)

    def table(self, name: str) -> pd.DataFrame:
        """Read a whole table into pandas (for small tables and tests)."""
        return self.query(f"SELECT * FROM {ident(name)}", table=name)

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
        # lazy: ibis (2.9 s) only for the engine-neutral pipelines, not for plain queries
        import ibis

        return ibis.duckdb.from_connection(con)


_readable: dict[str, tuple[int, ...]] = {}


def attach_lake(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Give ``con`` the canonical schema, then the lake's tables as views in place of
    the (empty) canonical tables of the same name."""
    migrate(con, ":memory:")
    for name in lake.tables():
        if has_table(con, name):
            con.execute(f"DROP TABLE {ident(name)}")
    lake.attach_duckdb(con)
    refresh_customer_360(con)


def _check_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a schema this release cannot read (remembered while the file is unchanged)."""
    sig = signature(path)
    key = str(path)
    if _readable.get(key) == sig:
        return
    check_readable(con, key)
    _readable[key] = sig


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
    # A literal, not a bound parameter: DuckDB imports pandas on a statement's first one.
    row = con.execute(
        f"SELECT count(*) FROM information_schema.tables WHERE table_name = {literal(name)}"
    ).fetchone()
    return bool(row and row[0])


def write_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame,
                *, replace: bool = True) -> None:
    """Write ``frame`` as table ``name`` on an open connection (caller owns the transaction)."""
    con.register("__frame", frame)
    try:
        if replace:
            con.execute(f"CREATE OR REPLACE TABLE {ident(name)} AS SELECT * FROM __frame")
        elif has_table(con, name):
            con.execute(f"INSERT INTO {ident(name)} BY NAME SELECT * FROM __frame")
        else:
            con.execute(f"CREATE TABLE {ident(name)} AS SELECT * FROM __frame")
    finally:
        con.unregister("__frame")


# -- the customer_360 view (rebuilt by every command that writes one of its tables, and on
# each read connection of a lake) --------------------------------------------------------
def refresh_customer_360(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create view ``customer_360``: the profiles plus the columns each capability
    declares (:func:`insightloop.capabilities.customer_360`) of the tables that exist.

    As declared today: RFM and segment columns keep their names; CLV columns get a ``clv_``
    prefix (``clv_p_alive``, ``clv_expected_avg_value``…, and ``clv`` itself); each scored
    model adds ``<model>_score``, ``<model>_version`` and ``<model>_reasons``; review
    sentiment adds ``sentiment_*`` and ``complaint_count``; then the declared products of
    those columns (``derived_360``: ``value_at_risk = churn_score * clv``), when every
    factor is there. Called inside the transaction of
    every command that writes one of these tables, so the view always matches them.
    """
    declared = capabilities.customer_360()
    if not declared or not has_table(con, declared[0].table):
        return
    spine, joins = declared[0], declared[1:]
    selects = [f"p.{ident(c)}" for c in _declared(con, spine)]
    sources = [f"{ident(spine.table)} p"]
    for n, decl in enumerate(joins):
        cols = [c for c in _declared(con, decl) if c not in (decl.key, decl.pivot)]
        if not cols:
            continue
        alias, key = f"j{n}", ident(decl.key)
        on = f"ON {alias}.{key} = p.{ident(spine.key)}"
        if decl.pivot is None:
            selects += [f"{alias}.{ident(c)} AS {ident(_shown(decl.prefix, c))}" for c in cols]
            sources.append(f"LEFT JOIN {ident(decl.table)} {alias} {on}")
            continue
        pivots = _pivoted(con, decl, cols)
        if pivots:
            sources.append(f"LEFT JOIN (SELECT {key}, {', '.join(pivots)} FROM "
                           f"{ident(decl.table)} GROUP BY {key}) {alias} {on}")
            selects.append(f"{alias}.* EXCLUDE ({key})")
    # Column and pivot values come from data: quoted above, and one statement only.
    body = "SELECT " + ", ".join(selects) + " FROM " + " ".join(sources)
    shown = [d[0] for d in con.execute(f"SELECT * FROM ({body}) LIMIT 0").description]
    derived = [f"{' * '.join(f'v.{ident(f)}' for f in d.factors)} AS {ident(d.name)}"
               for c in capabilities.CAPABILITIES for d in c.derived_360
               if all(f in shown for f in d.factors) and d.name not in shown]
    if derived:
        body = f"SELECT v.*, {', '.join(derived)} FROM ({body}) v"
    execute_one(con, "CREATE OR REPLACE VIEW customer_360 AS " + body)


def _declared(con: duckdb.DuckDBPyConnection, decl: Columns360) -> list[str]:
    """The columns of ``decl.table`` its declaration names, in the declared order (a
    pattern's matches in the table's order; [] when the table does not exist)."""
    if not has_table(con, decl.table):
        return []
    names = [r[0] for r in con.execute(f"DESCRIBE {ident(decl.table)}").fetchall()]
    found = [n for p in decl.columns for n in names if fnmatch.fnmatchcase(n, p)]
    return list(dict.fromkeys(found))


def _shown(prefix: str, column: str) -> str:
    """A joined column's name in the view (``clv`` stays ``clv`` under prefix ``clv_``)."""
    return column if prefix and column == prefix.rstrip("_") else prefix + column


def _pivoted(con: duckdb.DuckDBPyConnection, decl: Columns360, cols: list[str]) -> list[str]:
    """``<value>_<column>`` aggregates, one per value of ``decl.pivot`` and column."""
    pivot = ident(str(decl.pivot))
    values = [r[0] for r in con.execute(f"SELECT DISTINCT {pivot} FROM {ident(decl.table)} "
                                        f"WHERE {pivot} IS NOT NULL ORDER BY 1").fetchall()]
    return [f"max({ident(col)}) FILTER (WHERE {pivot} = {literal(str(v))}) AS "
            f"{ident(_shown(decl.prefix, f'{v}_{col}'))}" for v in values for col in cols]
