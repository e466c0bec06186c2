"""The operational store's connection: its URL, the engine, and write transactions.

The URL comes from ``Settings.ops_url`` (``INSIGHTLOOP_OPS_URL``); empty means the embedded
default, a SQLite file beside the warehouse (``<dir>/<stem>.ops.sqlite``) in WAL mode with
a busy timeout, so several processes on one machine share it. For production point it at
PostgreSQL: ``postgresql+psycopg://user:password@host/db``.

Writes that read and then change rows in one step (claim a job, take a token) run in
:meth:`OpsStore.write`: ``BEGIN IMMEDIATE`` on SQLite (the write lock from the start, so
what the transaction read is still true when it writes) and a transaction-scoped advisory
lock on PostgreSQL where the caller asks for one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from insightloop.errors import ConfigError, WarehouseError
from insightloop.settings import Settings

BUSY_TIMEOUT_MS = 15_000
_IMMEDIATE = "insightloop_immediate"
_engines: dict[tuple[int, str], OpsStore] = {}
_engines_lock = threading.Lock()


def ops_url(settings: Settings) -> str:
    """The operational store's URL: ``settings.ops_url`` or SQLite beside the warehouse."""
    if settings.ops_url:
        return settings.ops_url
    wh = settings.warehouse.expanduser().absolute()
    return f"sqlite:///{wh.parent / (wh.stem + '.ops.sqlite')}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or \
            parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def redacted(url: str) -> str:
    """The URL with any password hidden (for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _sqlite_engine(url: str) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"operational store {path}: cannot create its folder "
                                 f"({exc.strerror}); set INSIGHTLOOP_OPS_URL") from None
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout":
                                              BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_con: Any, _record: Any) -> None:
        dbapi_con.isolation_level = None  # transactions are begun below, not by the driver
        cur = dbapi_con.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps it safe
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_engine(url: str) -> Engine:
    """An engine for ``url``, or :class:`ConfigError` naming what is wrong with the URL."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise ConfigError(f"INSIGHTLOOP_OPS_URL {url[:80]!r} is not a database URL; use "
                          "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB"
                          ) from None
    try:
        if backend == "sqlite":
            return _sqlite_engine(url)
        if backend == "postgresql":
            return create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"INSIGHTLOOP_OPS_URL {redacted(url)}: no driver ({exc}); use "
                          "postgresql+psycopg://...") from None
    raise ConfigError(f"INSIGHTLOOP_OPS_URL {redacted(url)}: the operational store runs on "
                      f"SQLite or PostgreSQL, not {backend}")


class OpsStore:
    """One engine on the operational store, shared by the threads of a process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name

    @property
    def where(self) -> str:
        return redacted(self.url)

    def _failed(self, exc: SQLAlchemyError) -> WarehouseError:
        orig = getattr(exc, "orig", None)
        first = str(orig if orig is not None else exc)
        first = first.strip().splitlines()[0] if first.strip() else type(exc).__name__
        return WarehouseError(f"operational store {self.where}: {first[:300]}")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a plain transaction (committed at the end)."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            raise self._failed(exc) from exc

    @contextmanager
    def write(self, lock: str | None = None) -> Iterator[Connection]:
        """A write transaction that holds the write lock from its start (SQLite) or the
        advisory lock named ``lock`` (PostgreSQL), committed at the end."""
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn = conn.execution_options(**{_IMMEDIATE: True})
                with conn.begin():
                    if lock is not None and self.dialect == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"),
                                     {"n": lock})
                    yield conn
        except SQLAlchemyError as exc:
            raise self._failed(exc) from exc

    def dispose(self) -> None:
        self.engine.dispose()


def store_for(url: str) -> OpsStore:
    """The process's store for ``url`` (engines are per process: never shared over fork)."""
    key = (os.getpid(), url)
    with _engines_lock:
        store = _engines.get(key)
        if store is None:
            store = _engines[key] = OpsStore(url)
        return store


def forget_stores() -> None:
    """Dispose of every engine of this process (tests that delete their folders)."""
    with _engines_lock:
        for store in _engines.values():
            store.dispose()
        _engines.clear()
