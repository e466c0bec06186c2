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
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb

from insightloop.api.errors import ApiError
from insightloop.services.keys import KeyRecord, load_keys, verify_key
from insightloop.settings import Settings
from insightloop.storage.integrity import check_file, open_duckdb

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
            # The same checks as every other open: a damaged or foreign file is refused
            # with one clear line (a lock held by a writer too) before DuckDB reads it.
            check_file(path, checksums=False)
            self._anchor = open_duckdb(path, read_only=True)
            # Point lookups and small pages: one DuckDB thread per query costs less CPU
            # than several (the setting is the open database's, so every request's).
            self._anchor.execute("SET threads = 1")

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


def approx_bytes(value: Any, _depth: int = 0) -> int:
    """Approximate memory held by ``value`` (containers, text, frames, arrays), in bytes."""
    size = sys.getsizeof(value)
    if _depth > 20:
        return size
    if isinstance(value, dict):
        return size + sum(approx_bytes(k, _depth + 1) + approx_bytes(v, _depth + 1)
                          for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return size + sum(approx_bytes(v, _depth + 1) for v in value)
    memory_usage = getattr(value, "memory_usage", None)
    if callable(memory_usage):  # pandas DataFrame / Series
        used = memory_usage(deep=True)
        return size + int(getattr(used, "sum", lambda: used)())
    nbytes = getattr(value, "nbytes", None)
    return size + nbytes if isinstance(nbytes, int) else size


class Cache:
    """Values computed once per warehouse generation (aggregates, dashboard pages).

    A least-recently-used cache bounded by ``max_bytes`` (sizes from
    :func:`approx_bytes`): storing past the bound evicts the oldest entries, and a
    value larger than the whole bound is returned without being kept.
    """

    def __init__(self, gate: WarehouseGate, max_bytes: int = 32 * 1024 * 1024) -> None:
        self._gate = gate
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._values: OrderedDict[str, tuple[int, int, Any]] = OrderedDict()
        self._bytes = 0

    @property
    def bytes(self) -> int:
        """Approximate size of what the cache holds now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._values)

    def get(self, name: str, compute: Callable[[], T]) -> T:
        gen = self._gate.generation
        with self._lock:
            hit = self._values.get(name)
            if hit is not None and hit[0] == gen:
                self._values.move_to_end(name)
                return hit[2]  # type: ignore[no-any-return]
        value = compute()
        size = approx_bytes(value) + approx_bytes(name)
        with self._lock:
            old = self._values.pop(name, None)
            if old is not None:
                self._bytes -= old[1]
            if size <= self.max_bytes:
                self._values[name] = (gen, size, value)
                self._bytes += size
                while self._bytes > self.max_bytes:
                    _, (_, dropped, _) = self._values.popitem(last=False)
                    self._bytes -= dropped
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._bytes = 0


class TokenBuckets:
    """In-memory token bucket per name: ``burst`` at once, refilled at ``rate`` per second.

    Names whose bucket has refilled are forgotten once there are ``prune_floor`` of them
    (or twice as many as after the last pruning), so many distinct clients cannot grow
    the table without bound, and nobody's limit changes (a new name starts full).
    """

    def __init__(self, rate: float, burst: int, prune_floor: int = 10_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.prune_floor = prune_floor
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}
        self._prune_at = prune_floor

    def __len__(self) -> int:
        return len(self._state)

    def _prune(self, now: float) -> None:
        """Forget full buckets (a missing name starts full: nothing changes for anyone)."""
        self._state = {name: (tokens, last) for name, (tokens, last) in self._state.items()
                       if tokens + (now - last) * self.rate < self.burst}
        self._prune_at = max(self.prune_floor, 2 * len(self._state))

    def take(self, name: str) -> float:
        """0.0 when allowed, else the seconds until a token is available."""
        now = time.monotonic()
        with self._lock:
            if len(self._state) >= self._prune_at:
                self._prune(now)
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

    def __init__(self, hours: float, max_sessions: int = 10_000) -> None:
        self.seconds = hours * 3600.0
        self.max_sessions = max_sessions
        self._lock = threading.Lock()
        self._items: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._items)

    def create(self, key_id: str) -> str:
        """A new session token; past ``max_sessions`` the oldest sessions end."""
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            live = [(t, s) for t, s in self._items.items() if s.expires > now]
            self._items = dict(live[max(0, len(live) - self.max_sessions + 1):])
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
