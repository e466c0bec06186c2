"""The lakehouse warehouse: each table a folder of Parquet files under one root.

The scale-out warehouse (``INSIGHTLOOP_WAREHOUSE`` naming a folder): Spark reads and writes
the tables directly (``<root>/<table>/part-*.parquet``, Hive partitioning allowed, e.g.
``<root>/orders/year=2011/...``), and DuckDB reads the same files through one view per table
(:meth:`Lake.attach_duckdb`), so every read path of the product (API, report, CLI) works on
a lake. A table is replaced atomically: the new files are written under
``<root>/_staging/<table>-<uuid>/`` and the folders are swapped by renames, so a crash while
writing leaves the old table whole. Several tables written in one :meth:`Lake.transaction`
are committed together (a journal of the renames under ``<root>/_commits/``, rolled forward
on the next open after a crash: :mod:`~insightloop.storage.lake_commit`). Folders whose
names start with ``_`` or ``.`` are not tables.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import duckdb

from insightloop.errors import NotFoundError, WarehouseError
from insightloop.storage.lake_commit import (
    STAGING,
    begin_commit,
    finish_commit,
    recover,
    recover_locked,
    writer_lock,
)
from insightloop.storage.sql import ident, literal

__all__ = ["STAGING", "Lake", "LakeTransaction", "is_lake"]


def is_lake(path: Path | str) -> bool:
    """Whether ``path`` names a lake folder rather than a DuckDB file.

    True for an existing folder, or for a path that does not exist yet and has no suffix
    (``/data/lake``) or ends with ``/``; False for a ``.duckdb`` file or ``:memory:``. A
    folder named ``*.duckdb`` is not a lake either (the warehouse file was meant, and
    opening it says it is a folder).
    """
    text = str(path)
    if text == ":memory:" or not text:
        return False
    p = Path(text)
    if p.suffix.lower() == ".duckdb":
        return False
    if p.is_dir():
        return True
    if p.exists():
        return False
    return text.endswith(("/", "\\")) or p.suffix == ""


def _is_table_name(name: str) -> bool:
    return bool(name) and not name.startswith(("_", "."))


class Lake:
    """A lakehouse warehouse rooted at ``root`` (a local or shared-storage folder)."""

    root: Path

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser()
        recover(self.root)  # a commit a crash interrupted is finished first

    def __repr__(self) -> str:
        return f"Lake({str(self.root)!r})"

    def table_dir(self, name: str) -> Path:
        """The folder of table ``name`` (``<root>/<name>/``)."""
        if not _is_table_name(name) or "/" in name or "\\" in name:
            raise WarehouseError(f"{name!r} is not a valid lake table name "
                                 "(letters, digits and _; not starting with _ or .)")
        return self.root / name

    def tables(self) -> list[str]:
        """The tables present: folders under the root holding Parquet files, sorted."""
        if not self.root.is_dir():
            return []
        recover(self.root)
        return sorted(d.name for d in self.root.iterdir()
                      if d.is_dir() and _is_table_name(d.name) and _has_parquet(d))

    def exists(self, name: str) -> bool:
        d = self.table_dir(name)
        return d.is_dir() and _has_parquet(d)

    def partitioned(self, name: str) -> bool:
        """Whether table ``name`` is Hive-partitioned (``<col>=<value>`` sub-folders)."""
        d = self.table_dir(name)
        return d.is_dir() and any(c.is_dir() and "=" in c.name for c in d.iterdir())

    def require(self, name: str, command: str = "insightloop ingest") -> Path:
        """The folder of ``name``; NotFoundError naming ``command`` when it is absent."""
        if not self.exists(name):
            raise NotFoundError(f"table {name!r} is not in lake {self.root}; run "
                                f"`{command}` with INSIGHTLOOP_ENGINE=spark first")
        return self.table_dir(name)

    # -- Spark --------------------------------------------------------------------------
    def read_spark(self, session: Any, name: str) -> Any:
        """Table ``name`` as a pyspark DataFrame (NotFoundError naming the command if absent)."""
        recover(self.root)
        return session.read.parquet(str(self.require(name)))

    def write_spark(self, df: Any, name: str, *, partition_by: list[str] | None = None) -> None:
        """Replace table ``name`` with ``df`` atomically (a one-table :meth:`transaction`)."""
        with self.transaction() as tx:
            tx.write_spark(df, name, partition_by=partition_by)

    # -- commits -------------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[LakeTransaction]:
        """Replace several tables together: what the block writes through the yielded
        :class:`LakeTransaction` is committed as one when it ends (a journal, then the
        renames, :mod:`~insightloop.storage.lake_commit`), and nothing of it when it
        raises. The lake's writer lock is held throughout; a journal or staging folders a
        crash left are dealt with first."""
        return self._transaction(())

    @contextmanager
    def _transaction(self, adopted: Iterable[Path]) -> Iterator[LakeTransaction]:
        """:meth:`transaction`, keeping the staging folders ``adopted`` (written before)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with writer_lock(self.root) as depth:
            if depth == 1:
                recover_locked(self.root, keep={p.name for p in adopted})
            tx = LakeTransaction(self)
            try:
                yield tx
            except BaseException:
                tx.discard()
                raise
            tx.commit()

    def commit_tables(self, entries: Mapping[str, Path]) -> None:
        """Replace each table ``name`` by its staging folder (``{name: folder}``, folders
        made by :meth:`staging_dir` and fully written), all in one commit."""
        with self._transaction(entries.values()) as tx:
            for name, folder in entries.items():
                tx.adopt(folder, name)

    def staging_dir(self, name: str) -> Path:
        """A fresh staging folder for table ``name`` (for writers other than Spark). Write it
        inside a :meth:`transaction` (``tx.staging_dir``): outside one, another process
        opening the lake meanwhile may remove it as a crash's leftover."""
        path = self.root / STAGING / f"{self.table_dir(name).name}-{uuid.uuid4().hex}"
        path.mkdir(parents=True)
        return path

    def commit(self, staging: Path, name: str) -> None:
        """Swap a staging folder written by :meth:`staging_dir`'s caller into place."""
        self.commit_tables({name: staging})

    def drop(self, name: str) -> None:
        """Remove table ``name`` (nothing when it is absent)."""
        shutil.rmtree(self.table_dir(name), ignore_errors=True)

    # -- DuckDB -------------------------------------------------------------------------
    def glob(self, name: str) -> str:
        """The Parquet glob of table ``name`` for DuckDB's ``read_parquet``."""
        return str(self.table_dir(name) / "**" / "*.parquet")

    def scan_sql(self, name: str) -> str:
        """``read_parquet(...)`` over table ``name`` (Hive partitioning when partitioned)."""
        hive = "true" if self.partitioned(name) else "false"
        return (f"read_parquet({literal(self.glob(name))}, hive_partitioning = {hive}, "
                "union_by_name = true)")

    def attach_duckdb(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create one VIEW per lake table on ``con`` over its Parquet files."""
        for name in self.tables():
            con.execute(f"CREATE OR REPLACE VIEW {ident(name)} AS SELECT * FROM "
                        f"{self.scan_sql(name)}")

    def write_duckdb(self, con: duckdb.DuckDBPyConnection, query: str, name: str,
                     *, partition_by: list[str] | None = None) -> None:
        """Replace table ``name`` with the result of ``query`` run on ``con`` (atomic)."""
        with self.transaction() as tx:
            tx.write_duckdb(con, query, name, partition_by=partition_by)


class LakeTransaction:
    """The tables one :meth:`Lake.transaction` replaces: each written to its own staging
    folder, committed together when the block ends."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self._staged: dict[str, Path] = {}
        self._scratch: list[Path] = []
        self._journaled = False

    @property
    def tables(self) -> list[str]:
        """The tables this transaction replaces so far."""
        return list(self._staged)

    def staging_dir(self, name: str) -> Path:
        """A fresh folder to write table ``name`` into (replacing any staged before)."""
        return self.adopt(self.lake.staging_dir(name), name)

    def scratch_dir(self, label: str) -> Path:
        """A folder under ``_staging`` for files the writers read (not a table), removed
        when the transaction ends; executors see it where the lake is shared storage."""
        path = self.lake.root / STAGING / f"{label}-{uuid.uuid4().hex[:12]}"
        path.mkdir(parents=True)
        self._scratch.append(path)
        return path

    def adopt(self, folder: Path, name: str) -> Path:
        """Commit ``folder`` (under ``<root>/_staging/``) as table ``name``."""
        self.lake.table_dir(name)
        if folder.parent.resolve() != (self.lake.root / STAGING).resolve():
            raise WarehouseError(f"staging folder {folder} for table {name!r} is not under "
                                 f"{self.lake.root / STAGING}")
        previous = self._staged.pop(name, None)
        if previous is not None and previous != folder:
            shutil.rmtree(previous, ignore_errors=True)
        self._staged[name] = folder
        return folder

    def write_spark(self, df: Any, name: str, *, partition_by: list[str] | None = None) -> None:
        """Write ``df`` as the new table ``name``.

        Local-time timestamps are written as ``TIMESTAMP_NTZ`` (Parquet
        ``isAdjustedToUTC=false``), so DuckDB reads the same naive wall-clock values.
        """
        staging = self.staging_dir(name)
        writer = _naive_timestamps(df).write.mode("overwrite")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(str(staging))

    def write_duckdb(self, con: duckdb.DuckDBPyConnection, query: str, name: str,
                     *, partition_by: list[str] | None = None) -> None:
        """Write the result of ``query`` run on ``con`` as the new table ``name``."""
        staging = self.staging_dir(name)
        target = staging if partition_by else staging / "part-00000.parquet"
        options = "FORMAT parquet"
        if partition_by:
            options += ", PARTITION_BY (" + ", ".join(ident(c) for c in partition_by) + ")"
        con.execute(f"COPY ({query}) TO {literal(str(target))} ({options})")

    def commit(self) -> None:
        """Journal, then move every staged table into place (see :mod:`lake_commit`)."""
        self._drop_scratch()
        if not self._staged:
            return
        journal = begin_commit(self.lake.root, {n: f.name for n, f in self._staged.items()})
        self._journaled = True
        finish_commit(self.lake.root, journal)

    def discard(self) -> None:
        """Remove what was staged (nothing once the journal is written: it rolls forward)."""
        self._drop_scratch()
        if self._journaled:
            return
        for folder in self._staged.values():
            shutil.rmtree(folder, ignore_errors=True)
        self._staged.clear()

    def _drop_scratch(self) -> None:
        for folder in self._scratch:
            shutil.rmtree(folder, ignore_errors=True)
        self._scratch.clear()


def _has_parquet(folder: Path) -> bool:
    return next(folder.rglob("*.parquet"), None) is not None


def _naive_timestamps(df: Any) -> Any:
    """``df`` with every TimestampType column cast to TimestampNTZType (session zone UTC)."""
    # lazy: pyspark is the optional [spark] extra
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    casts = [F.col(f.name).cast("timestamp_ntz").alias(f.name)
             if isinstance(f.dataType, TimestampType) else F.col(f.name)
             for f in df.schema.fields]
    return df.select(*casts)
