"""Process-wide state of a server: warehouse access, keys, sessions, rate limits, caches.

Warehouse access. DuckDB lets one process write a file, or many read it, and a
process cannot hold read-only and read-write connections to the same file at once.
The server therefore keeps one read-only *anchor* connection open (so each
request's own short read-only connection reuses the open database: ~5 ms instead
of ~14 ms), and jobs run in this process one at a time: a job takes the gate
exclusively (waiting for running reads, holding back new ones), closes the anchor,
writes, then reopens it and bumps :attr:`WarehouseGate.generation`, which keys
every cached aggregate. Reads wait for a running job up to ``read_wait_s``, then
get 503. While the server runs, other processes can read the warehouse but not
write it; writes go through the job endpoints.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb

from insightloop.api.errors import ApiError
from insightloop.errors import WarehouseError
from insightloop.services.keys import KeyRecord, load_keys, verify_key
from insightloop.settings import Settings

T = TypeVar("T")


class WarehouseGate:
    """Shared reads, exclusive job writes, and the generation counter of the warehouse."""

    def __init__(self, settings: Settings, read_wait_s: float) -> None:
        self.settings = settings
        self.read_wait_s = read_wait_s
        self.generation = 0
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0
        self._anchor: duckdb.DuckDBPyConnection | None = None

    def open(self) -> None:
        """Open the anchor connection if the warehouse exists (no-op otherwise)."""
        path = self.settings.warehouse
        if self._anchor is None and path.exists():
            try:
                self._anchor = duckdb.connect(str(path), read_only=True)
                # Point lookups and small pages: one DuckDB thread per query costs less CPU
                # than several (the setting is the open database's, so every request's).
                self._anchor.execute("SET threads = 1")
            except duckdb.IOException as exc:
                raise WarehouseError(
                    f"cannot open {path} for reading: {exc}. Another process is writing it; "
                    "wait for it to finish") from exc

    @property
    def anchor(self) -> duckdb.DuckDBPyConnection | None:
        return self._anchor

    def close(self) -> None:
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            ok = self._cond.wait_for(lambda: not self._writing and not self._writers_waiting,
                                     timeout=self.read_wait_s)
            if not ok:
                raise ApiError(503, "busy", "a job is writing the warehouse; retry shortly",
                               {"Retry-After": "5"})
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            self._cond.wait_for(lambda: self._readers == 0 and not self._writing)
            self._writers_waiting -= 1
            self._writing = True
        self.close()
        try:
            yield
        finally:
            try:
                self.open()
            finally:
                with self._cond:
                    self._writing = False
                    self.generation += 1
                    self._cond.notify_all()


class Cache:
    """Values computed once per warehouse generation (dashboard aggregates)."""

    def __init__(self, gate: WarehouseGate) -> None:
        self._gate = gate
        self._lock = threading.Lock()
        self._values: dict[str, tuple[int, Any]] = {}

    def get(self, name: str, compute: Callable[[], T]) -> T:
        gen = self._gate.generation
        hit = self._values.get(name)
        if hit is not None and hit[0] == gen:
            return hit[1]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._values[name] = (gen, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


class TokenBuckets:
    """In-memory token bucket per name: ``burst`` at once, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, name: str) -> float:
        """0.0 when allowed, else the seconds until a token is available."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(name, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._state[name] = (tokens - 1.0, now)
                return 0.0
            self._state[name] = (tokens, now)
        return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0


class KeyStore:
    """The stored keys, loaded from the warehouse and reloaded after key changes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._records: dict[str, KeyRecord] = {}

    def reload(self) -> None:
        self._records = load_keys(self.settings)

    def verify(self, presented: str) -> KeyRecord | None:
        return verify_key(self._records, presented)

    def get(self, key_id: str) -> KeyRecord | None:
        rec = self._records.get(key_id)
        return rec if rec is not None and rec.active else None

    def __len__(self) -> int:
        return sum(rec.active for rec in self._records.values())


@dataclass
class Session:
    key_id: str
    expires: float


class Sessions:
    """Dashboard sessions: random token (the cookie) -> key id, with expiry."""

    def __init__(self, hours: float) -> None:
        self.seconds = hours * 3600.0
        self._lock = threading.Lock()
        self._items: dict[str, Session] = {}

    def create(self, key_id: str) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._items = {t: s for t, s in self._items.items() if s.expires > now}
            self._items[token] = Session(key_id, now + self.seconds)
        return token

    def key_id(self, token: str | None) -> str | None:
        if not token:
            return None
        with self._lock:
            sess = self._items.get(token)
            if sess is None or sess.expires <= time.monotonic():
                self._items.pop(token, None)
                return None
            return sess.key_id

    def drop(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._items.pop(token, None)
