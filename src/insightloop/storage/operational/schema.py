"""Alembic migrations of the operational store, run from code (no ``alembic.ini``).

The scripts live in ``migrations/versions`` inside the package. As with the warehouse
(:mod:`insightloop.storage.migrations`, where every write open migrates), opening the
store for use upgrades it to this release's head first; ``insightloop migrate`` does the
same and reports what it did. Concurrent openers (several server workers) take a lock
first: a file lock beside a SQLite store, an advisory lock on PostgreSQL, so one of them
migrates and the others find the schema current. A store whose revision this release
does not know (made by a newer release) is refused with a clear message.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from insightloop import __version__
from insightloop.errors import WarehouseError
from insightloop.storage.operational.engine import OpsStore, sqlite_path

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_LOCK = "insightloop-ops-migrate"
# Alembic says which dialect it uses at INFO on every upgrade: noise in a server's log.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


@dataclass(frozen=True)
class OpsMigration:
    """What an upgrade found and left: revisions (None: an empty store)."""

    where: str
    before: str | None
    after: str

    @property
    def migrated(self) -> bool:
        return self.before != self.after


def alembic_config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the package ships at least one migration
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _migration_lock(store: OpsStore) -> Iterator[Connection]:
    """A connection holding the store-wide migration lock."""
    path = sqlite_path(store.url)
    if path is not None:
        with open(path.with_name(path.name + ".migrate-lock"), "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                with store.engine.connect() as conn:
                    yield conn
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(hashtext(:n))"), {"n": _LOCK})
            conn.commit()
        try:
            yield conn
        finally:
            if store.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:n))"), {"n": _LOCK})
                conn.commit()


def _refuse_unknown(store: OpsStore, revision: str | None) -> None:
    if revision is None:
        return
    scripts = ScriptDirectory.from_config(alembic_config())
    known = {s.revision for s in scripts.walk_revisions()}
    if revision not in known:
        raise WarehouseError(
            f"operational store {store.where} has schema revision {revision!r}, which this "
            f"release {__version__} does not know (a newer release made it); upgrade "
            "insightloop to use it")


def upgrade(store: OpsStore) -> OpsMigration:
    """Bring the store to this release's head revision (a no-op when it is current)."""
    head = head_revision()
    try:
        with store.read() as conn:
            before = current_revision(conn)
        if before == head:
            return OpsMigration(store.where, before, head)
        with _migration_lock(store) as conn:
            before = current_revision(conn)
            conn.commit()
            _refuse_unknown(store, before)
            if before != head:
                command.upgrade(alembic_config(conn), "head")
                conn.commit()
    except SQLAlchemyError as exc:
        raise WarehouseError(f"operational store {store.where}: cannot migrate "
                             f"({str(exc).splitlines()[0][:300]})") from exc
    return OpsMigration(store.where, before, head)
