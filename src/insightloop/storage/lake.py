"""The lakehouse warehouse: each table a folder of Parquet files under one root.

The scale-out warehouse (``INSIGHTLOOP_WAREHOUSE`` naming a folder): Spark reads and writes
the tables directly (``<root>/<table>/part-*.parquet``, Hive partitioning allowed, e.g.
``<root>/orders/year=2011/...``), and DuckDB reads the same files through one view per table
(:meth:`Lake.attach_duckdb`), so every read path of the product (API, report, CLI) works on
a lake. A table is replaced atomically: the new files are written under
``<root>/_staging/<table>-<uuid>/`` and the folders are swapped by renames, so a crash while
writing leaves the old table whole. Folders whose names start with ``_`` or ``.`` are not
tables.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import duckdb

from insightloop.errors import NotFoundError, WarehouseError
from insightloop.storage.sql import ident, literal

STAGING = "_staging"


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
        return session.read.parquet(str(self.require(name)))

    def write_spark(self, df: Any, name: str, *, partition_by: list[str] | None = None) -> None:
        """Replace table ``name`` with ``df`` atomically (staging folder, then a swap).

        Local-time timestamps are written as ``TIMESTAMP_NTZ`` (Parquet
        ``isAdjustedToUTC=false``), so DuckDB reads the same naive wall-clock values.
        """
        final = self.table_dir(name)
        staging = self.root / STAGING / f"{name}-{uuid.uuid4().hex}"
        writer = _naive_timestamps(df).write.mode("overwrite")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        try:
            writer.parquet(str(staging))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._swap(staging, final)

    def _swap(self, staging: Path, final: Path) -> None:
        """Move ``staging`` into place as ``final``; the old folder is removed afterwards."""
        old = staging.with_name(staging.name + "-old")
        if final.exists():
            final.rename(old)
        try:
            staging.rename(final)
        except BaseException:
            if old.exists() and not final.exists():
                old.rename(final)
            raise
        shutil.rmtree(old, ignore_errors=True)

    def staging_dir(self, name: str) -> Path:
        """A fresh staging folder for table ``name`` (for writers other than Spark)."""
        path = self.root / STAGING / f"{self.table_dir(name).name}-{uuid.uuid4().hex}"
        path.mkdir(parents=True)
        return path

    def commit(self, staging: Path, name: str) -> None:
        """Swap a staging folder written by :meth:`staging_dir`'s caller into place."""
        self._swap(staging, self.table_dir(name))

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
        """Replace table ``name`` with the result of ``query`` run on ``con`` (atomic swap)."""
        staging = self.staging_dir(name)
        target = staging if partition_by else staging / "part-00000.parquet"
        options = "FORMAT parquet"
        if partition_by:
            options += ", PARTITION_BY (" + ", ".join(ident(c) for c in partition_by) + ")"
        try:
            con.execute(f"COPY ({query}) TO {literal(str(target))} ({options})")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.commit(staging, name)


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
