"""Schema versions of the warehouse and the forward migrations between them.

Every warehouse records its schema version in table ``schema_version``: one row per
migration applied (version, the insightloop release that applied it, when, what).
A warehouse made before versions existed (release 0.1.0 up to commit ``015dada``)
has no such table and counts as schema 0.

Migrations run on every *write* open (:meth:`Warehouse.connect` with
``read_only=False``; ``insightloop migrate`` does only that), all pending ones in one
transaction: a failure or Ctrl-C leaves the warehouse at its old version. Each
migration is a small numbered function that is safe to run twice (``IF NOT EXISTS``,
column checks). A read-only open does not migrate: it works when no pending
migration is ``needed_for_reading`` and otherwise asks the user to upgrade. A
warehouse with a newer schema than this release knows is refused either way.

Adding a migration: write ``_m<N>_<what>(con)``, append ``Migration(N, ...)`` to
:data:`MIGRATIONS`; :data:`SCHEMA_VERSION` follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from insightloop import __version__
from insightloop.errors import WarehouseError
from insightloop.storage.schema import INGEST_LOG_DDL, QUARANTINE_DDL, TABLES, create_table_sql
from insightloop.storage.sql import literal

META_TABLE = "schema_version"
META_DDL = f"""
CREATE TABLE IF NOT EXISTS {META_TABLE} (
    version INTEGER NOT NULL,
    release VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    note VARCHAR NOT NULL
)
"""
UNVERSIONED_RELEASE = "0.1.0 or earlier (before schema versions)"


@dataclass(frozen=True)
class Migration:
    """One forward step: ``apply`` brings schema ``version - 1`` to ``version``."""

    version: int
    note: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]
    needed_for_reading: bool = False


def _m1_schema_version(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 1 is the layout of release 0.1.0 plus the version table itself."""
    con.execute(META_DDL)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "record the schema version (layout of release 0.1.0)", _m1_schema_version),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


@dataclass(frozen=True)
class SchemaState:
    """Where a warehouse stands: its version and the release that last migrated it."""

    version: int
    release: str

    @property
    def current(self) -> bool:
        return self.version == SCHEMA_VERSION


def schema_state(con: duckdb.DuckDBPyConnection) -> SchemaState:
    """The schema version recorded in the open warehouse (0 when it predates versions).

    A warehouse with no tables at all (just created) reports :data:`SCHEMA_VERSION`:
    there is nothing to migrate.
    """
    names = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND database_name = current_database()").fetchall()}
    if META_TABLE not in names:
        return SchemaState(0 if names else SCHEMA_VERSION,
                           UNVERSIONED_RELEASE if names else __version__)
    row = con.execute(
        f"SELECT version, release FROM {META_TABLE} ORDER BY version DESC, applied_at DESC "
        "LIMIT 1").fetchone()
    if row is None:
        return SchemaState(0, UNVERSIONED_RELEASE)
    return SchemaState(int(row[0]), str(row[1]))


def check_readable(con: duckdb.DuckDBPyConnection, where: str) -> SchemaState:
    """Refuse a newer schema, or an older one that needs migrating before it can be read."""
    state = schema_state(con)
    refuse_newer(state, where)
    pending = [m for m in MIGRATIONS if m.version > state.version and m.needed_for_reading]
    if pending:
        raise WarehouseError(
            f"warehouse {where} was made by release {state.release} (schema {state.version}); "
            f"this release {__version__} reads schema {SCHEMA_VERSION}; run any write command "
            f"or `insightloop migrate -w {where}` to upgrade it")
    return state


def refuse_newer(state: SchemaState, where: str) -> None:
    if state.version > SCHEMA_VERSION:
        raise WarehouseError(
            f"warehouse {where} has schema {state.version} (written by release "
            f"{state.release}), newer than this release {__version__} knows (schema "
            f"{SCHEMA_VERSION}); upgrade insightloop to use it")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create any canonical, quarantine or ingest-log table that is missing."""
    for spec in TABLES.values():
        con.execute(create_table_sql(spec))
    con.execute(QUARANTINE_DDL)
    con.execute(INGEST_LOG_DDL)


def migrate(con: duckdb.DuckDBPyConnection, where: str) -> tuple[SchemaState, SchemaState]:
    """Bring the open (writable) warehouse to :data:`SCHEMA_VERSION`; returns (before, after).

    All pending migrations and the missing canonical tables are applied in one
    transaction. A fresh warehouse is stamped with the current version directly.
    """
    before = schema_state(con)
    refuse_newer(before, where)
    # No bound parameter: DuckDB imports pandas (seconds) on a statement's first one.
    found = con.execute(f"SELECT count(*) FROM duckdb_tables() WHERE table_name = "
                        f"{literal(META_TABLE)} AND schema_name = 'main' AND "
                        "database_name = current_database()").fetchone()
    stamped = bool(found and found[0])
    if stamped and before.current:
        ensure_tables(con)  # CREATE ... IF NOT EXISTS: a no-op on a complete warehouse
        return before, before
    start = before.version if stamped else 0  # a fresh file runs every step, like an old one
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_tables(con)
        con.execute(META_DDL)
        for step in (m for m in MIGRATIONS if m.version > start):
            step.apply(con)
            con.execute(f"INSERT INTO {META_TABLE} VALUES ({int(step.version)}, "
                        f"{literal(__version__)}, {literal(now.isoformat())}::TIMESTAMP, "
                        f"{literal(step.note)})")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return before, schema_state(con)
