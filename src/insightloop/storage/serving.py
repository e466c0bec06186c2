"""The serving store: one SQLite file of ready answers for the hot API endpoints.

Layout (format :data:`FORMAT`), written once by :func:`write_store` and never modified in
place — a rebuild writes a new file under a temporary name and ``os.replace``-s it, so a
reader keeps a consistent snapshot (the old inode) until it reopens:

* ``meta(key, value)`` — format, the warehouse fingerprint it was built from, build time,
  the recommender label, top-N, and the cold-start (popularity) list as JSON;
* ``profiles(customer_id, profile, scores) WITHOUT ROWID`` — the exact JSON bodies of
  ``GET /customers/{id}`` and ``GET /customers/{id}/scores``, zlib-compressed;
* ``recs(customer_id, items) WITHOUT ROWID`` — the customer's top-N recommendations as a
  packed array of (item index int32, score float64, reason code int32), best first;
* ``items(idx, product_id, description)`` and ``reasons(code, text)`` — the dictionaries
  the packed arrays point into (loaded into memory when the store is opened).

Readers open the file with ``mode=ro&immutable=1``: no locks and no journal, which is
correct because the file is never changed after it is renamed into place. Any number of
processes and threads read it concurrently (one connection per thread).

Lookups run on the server's event loop, so they must never wait for the disk: a read of a
page that is not in memory took up to 0.5 s on a virtual disk and held up every request of
that worker (seen at a million customers, 1.4 GB store). :meth:`ServingStore.warm` reads the
file once into the operating system's page cache (one copy, shared by every worker), and
connections map the file (``mmap_size``), so a lookup is a memory read. The store must fit
in memory for that; ``serving status`` gives its size.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

FORMAT = 1
MMAP_BYTES = 1 << 40  # map the whole file (SQLite caps it at its compile-time maximum)
SLOT = np.dtype([("item", "<i4"), ("score", "<f8"), ("reason", "<i4")])


def dumps(value: Any) -> bytes:
    """JSON bytes exactly as the API's JSON responses render ``value`` (Starlette's rules)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


Tail = tuple[dict[str, str], list[tuple[int, str, str]], list[tuple[int, str]]]


def write_store(path: Path, profiles: Iterable[list[tuple[str, bytes, bytes]]],
                recs: Iterable[list[tuple[str, bytes]]], tail: Callable[[], Tail]) -> Path:
    """Write a complete store to ``path`` atomically (temporary file, fsync, rename).

    ``profiles`` and ``recs`` yield batches of rows (already encoded); ``tail()``, called
    after both are consumed, gives the meta values (text), the items and the reasons.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _drop_orphans(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        con = sqlite3.connect(tmp)
        try:
            con.execute("PRAGMA journal_mode = OFF")
            con.execute("PRAGMA synchronous = OFF")
            con.execute("PRAGMA page_size = 8192")
            con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) "
                        "WITHOUT ROWID")
            con.execute("CREATE TABLE profiles (customer_id TEXT PRIMARY KEY, profile BLOB "
                        "NOT NULL, scores BLOB NOT NULL) WITHOUT ROWID")
            con.execute("CREATE TABLE recs (customer_id TEXT PRIMARY KEY, items BLOB NOT NULL) "
                        "WITHOUT ROWID")
            con.execute("CREATE TABLE items (idx INTEGER PRIMARY KEY, product_id TEXT NOT NULL, "
                        "description TEXT NOT NULL)")
            con.execute("CREATE TABLE reasons (code INTEGER PRIMARY KEY, text TEXT NOT NULL)")
            for batch in profiles:
                con.executemany("INSERT INTO profiles VALUES (?, ?, ?)", batch)
            for rec_batch in recs:
                con.executemany("INSERT INTO recs VALUES (?, ?)", rec_batch)
            meta, items, reasons = tail()
            con.executemany("INSERT INTO items VALUES (?, ?, ?)", items)
            con.executemany("INSERT INTO reasons VALUES (?, ?)", reasons)
            # Meta last: a store without its format row is never taken for a complete one.
            con.executemany("INSERT INTO meta VALUES (?, ?)",
                            sorted({**meta, "format": str(FORMAT)}.items()))
            con.commit()
        finally:
            con.close()
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _drop_orphans(path: Path) -> None:
    """Remove temporary files of builds whose process is gone (killed mid-build)."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:-4]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except PermissionError:  # alive, another user's
            continue


def read_meta(path: Path) -> dict[str, str] | None:
    """The ``meta`` table of the store at ``path``; None if missing, unreadable or partial."""
    if not path.is_file():
        return None
    try:
        con = _connect(path)
        try:
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return meta if meta.get("format") == str(FORMAT) else None


def _connect(path: Path) -> sqlite3.Connection:
    uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
    con = sqlite3.connect(uri, uri=True, check_same_thread=False)
    con.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")  # pages read from the page cache directly
    return con


def memory_available() -> int | None:
    """Bytes of memory available for new use (Linux ``MemAvailable``); None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def warm_file(path: Path, chunk: int = 8 << 20) -> int:
    """Read ``path`` once, sequentially, so its pages are in the page cache; the bytes read.

    I/O-bound (the GIL is released during each read): run it in a background thread.
    """
    total = 0
    buf = bytearray(chunk)
    with path.open("rb", buffering=0) as f:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while n := f.readinto(buf):
            total += n
    return total


class ServingStore:
    """Read-only point lookups on a store file (thread-safe: one connection per thread).

    Answers are the exact bytes the live endpoints would send; ``None`` means the store
    has no answer (the customer is not in it), never an error.
    """

    def __init__(self, path: Path) -> None:
        meta = read_meta(path)
        if meta is None:
            raise FileNotFoundError(f"no complete serving store at {path}")
        self.path = path
        self.meta = meta
        self.stat = _stat(path)
        self.top_n = int(meta.get("top_n", "0"))
        self.has_profiles = meta.get("profiles") == "1"
        self.has_recs = meta.get("recs") == "1"
        self._local = threading.local()
        con = self._con()
        rows = con.execute("SELECT product_id, description FROM items ORDER BY idx").fetchall()
        self._item_ids = [r[0] for r in rows]
        self._descriptions = [r[1] for r in rows]
        self._reasons = [r[0] for r in con.execute("SELECT text FROM reasons ORDER BY code")]
        self.rec_label = meta.get("rec_label", "")
        self.popular: dict[str, Any] = json.loads(meta.get("popular", "{}"))

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = _connect(self.path)
            self._local.con = con
        return con

    def warm(self) -> tuple[int, float]:
        """Bring the whole file into the page cache (see the module notes): (bytes, seconds)."""
        started = time.perf_counter()
        n = warm_file(Path(self.path))
        return n, time.perf_counter() - started

    def changed_on_disk(self) -> bool:
        """True when another file has been renamed onto :attr:`path` since opening."""
        return _stat(self.path) != self.stat

    def profile(self, customer_id: str) -> bytes | None:
        """The body of ``GET /customers/{id}``, or None when the customer is not stored."""
        row = self._con().execute("SELECT profile FROM profiles WHERE customer_id = ?",
                                  (customer_id,)).fetchone()
        return zlib.decompress(row[0]) if row else None

    def scores(self, customer_id: str) -> bytes | None:
        """The body of ``GET /customers/{id}/scores`` (stored scores), or None."""
        row = self._con().execute("SELECT scores FROM profiles WHERE customer_id = ?",
                                  (customer_id,)).fetchone()
        return zlib.decompress(row[0]) if row else None

    def recommendations(self, customer_id: str, n: int, exclude_seen: bool = True,
                        history: bool = False) -> bytes | None:
        """The body of ``GET /customers/{id}/recommendations``, or None when the store
        cannot answer it (``n`` over the stored top-N, a known customer with
        ``exclude_seen=false``, an unknown one with a ``history``: the live path answers).

        Customers the model does not know get the stored cold-start (popularity) list,
        as the live path does without a history.
        """
        if n > self.top_n or not self.has_recs:
            return None
        row = self._con().execute("SELECT items FROM recs WHERE customer_id = ?",
                                  (customer_id,)).fetchone()
        if row is None:
            if history:
                return None
            pop = self.popular
            return dumps({"customer_id": customer_id, "model": pop["model"],
                          "source": pop["source"], "items": pop["items"][:n]})
        if not exclude_seen:
            return None
        slots = np.frombuffer(row[0], dtype=SLOT)[:n]
        ids, desc, why = self._item_ids, self._descriptions, self._reasons
        items = [{"product_id": ids[i], "description": desc[i], "score": s, "reason": why[r]}
                 for i, s, r in zip(slots["item"].tolist(), slots["score"].tolist(),
                                    slots["reason"].tolist(), strict=True)]
        return dumps({"customer_id": customer_id, "model": self.rec_label, "source": "model",
                      "items": items})


def _stat(path: Path) -> tuple[int, int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, 0, 0)
    return (st.st_ino, st.st_size, st.st_mtime_ns)
