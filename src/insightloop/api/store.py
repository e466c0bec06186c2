"""The serving store as one server process sees it: opened at start, reopened when a new
file is renamed into place, checked (and rebuilt if stale) after every warehouse write.

The hot endpoints ask :meth:`StoreHolder.get` for the store; ``None`` (no store, a stale
one, a write since it was checked, a rebuild in progress) means they answer live from the
warehouse, so answers stay right whatever the store's state. The store is tied to the
warehouse *generation* it was checked at: as soon as a job or a key change writes the
warehouse, the store is set aside until :meth:`StoreHolder.refresh` has compared its
fingerprint with the warehouse again (and rebuilt it when what it holds changed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import duckdb

from insightloop.errors import InsightloopError
from insightloop.services.context import Context
from insightloop.services.serving import build_store, open_store, store_status
from insightloop.storage.serving import ServingStore, memory_available

log = logging.getLogger("insightloop.api.store")
RECHECK_S = 2.0
Cursor = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection | None]]


class StoreHolder:
    """The current :class:`ServingStore` of a server process (or None).

    ``ctx`` is the server's context (reading through its open connection); ``cursor`` gives
    a warehouse read (``Server.cursor``); ``generation`` the warehouse generation
    (``WarehouseGate.generation``), which every write increments.
    """

    def __init__(self, ctx: Context, cursor: Cursor, generation: Callable[[], int]) -> None:
        self.ctx = ctx
        self._cursor = cursor
        self._generation = generation
        self._store: ServingStore | None = None
        self._gen = -1
        self._checked = 0.0
        self._lock = threading.Lock()  # one refresh at a time
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None
        self._warmed: str | None = None  # the file (path and inode) last read into memory

    def open(self) -> None:
        """Open the store if it exists and matches the warehouse (at server start)."""
        self.refresh(build=False)

    def get(self) -> ServingStore | None:
        """The store, if it matches the warehouse as of now; else None (answer live)."""
        if self._gen != self._generation():
            self._refresh_in_background()
            return None
        store = self._store
        now = time.monotonic()
        if store is None or now - self._checked < RECHECK_S:
            return store
        self._checked = now
        if store.changed_on_disk():  # `insightloop serving build` replaced the file
            try:
                self._store = ServingStore(Path(store.path))
            except (FileNotFoundError, OSError):
                self._store = None
            self._warm_in_background(self._store)
        return self._store

    def refresh(self, build: bool = True) -> None:
        """Compare the store with the warehouse; rebuild it when stale (``build``); reopen."""
        with self._lock, self._cursor() as con:
            gen = self._generation()  # no write can run while this read is open
            self._store = None
            if con is not None:
                try:
                    if build and not store_status(self.ctx)["fresh"]:
                        build_store(self.ctx)
                    self._store = open_store(self.ctx)
                    self._warm_in_background(self._store)
                except (InsightloopError, OSError, duckdb.Error) as exc:
                    log.warning("serving store not used (%s); answering live",
                                type(exc).__name__)
            self._gen = gen

    def _refresh_in_background(self) -> None:
        """Check (never build: jobs do) without holding up the request that noticed."""
        with self._starting:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self.refresh, args=(False,),
                                            name="insightloop-store", daemon=True)
            self._thread.start()

    def _warm_in_background(self, store: ServingStore | None) -> None:
        """Read a newly opened store file into the page cache, once per file, off the
        request path (lookups on the event loop must not wait for the disk)."""
        if store is None or self._warmed == f"{store.path}:{store.stat}":
            return
        self._warmed = f"{store.path}:{store.stat}"

        size, free = store.stat[1], memory_available()
        if free is not None and size > free:
            log.warning("the serving store (%.1f GB) is larger than the memory available "
                        "(%.1f GB): lookups will wait for the disk and stall requests; "
                        "give the server more memory", size / 1e9, free / 1e9)

        def warm() -> None:
            try:
                n, seconds = store.warm()
            except OSError as exc:
                log.warning("serving store not read into memory (%s)", type(exc).__name__)
                return
            log.info("serving store read into memory: %.0f MB in %.1f s", n / 1e6, seconds)

        threading.Thread(target=warm, name="insightloop-store-warm", daemon=True).start()

    def close(self) -> None:
        """Wait for a running refresh (DuckDB threads must end before the interpreter)."""
        thread = self._thread
        if thread is not None:
            thread.join(120)
