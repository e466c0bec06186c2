"""State of a server: warehouse access and caches (per process); keys, sessions and rate
limits (in the operational store, shared by every worker process).

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

With several worker processes the same gate also covers a job running in *another*
worker: :class:`~insightloop.api.jobs.JobRunner` notices it in the operational store
(polled every ``POLL_S``) and holds this process's gate for writing while it runs, which
closes the anchor so that the other process can open the warehouse for writing.
"""

from __future__ import annotations

import logging
import secrets
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import duckdb

from insightloop.api.errors import ApiError
from insightloop.errors import WarehouseError
from insightloop.services.context import Context
from insightloop.services.keys import KeyRecord, load_keys, verify_key
from insightloop.settings import Settings
from insightloop.storage.integrity import check_file, open_duckdb
from insightloop.storage.operational import OpsStore, access
from insightloop.storage.operational import keys as op_keys
from insightloop.storage.operational.handoff import held_by_others

T = TypeVar("T")
log = logging.getLogger("insightloop.api.state")


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
        self.blocked = False  # the warehouse exists but another process is writing it

    def open(self) -> None:
        """Open the anchor connection if the warehouse exists (no-op otherwise)."""
        path = self.settings.warehouse
        if self._anchor is None and path.exists():
            # The same checks as every other open: a damaged or foreign file is refused
            # with one clear line (a lock held by a writer too) before DuckDB reads it.
            try:
                check_file(path, checksums=False)
                self._anchor = open_duckdb(path, read_only=True)
            except WarehouseError:
                if not held_by_others(path):
                    raise
                # Another server process runs a job: reads answer 503 until its runner
                # thread sees the job end and opens the anchor (api/jobs.py).
                self.blocked = True
                return
            self.blocked = False
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
            if not ok or self.blocked:
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


class SharedBuckets:
    """Token buckets shared by every server process (rows of the operational store): per
    name, ``burst`` at once, refilled at ``rate`` per second.

    A token taken from the store per request would put a write transaction on every
    request's path (with two workers they queue on SQLite's write lock: measured 83 req/s
    at most, p50 13 s, on the 1,000,000-customer benchmark). So each process *leases*
    tokens in small batches (``lease``: at most a tenth of a second of refill and an
    eighth of the burst; 1 for small limits, i.e. exact) and spends them locally; a lease
    unused after ``lease_s`` seconds is dropped. Every token spent was taken from the
    shared bucket, so a client never gets more than the limit over a window, beyond at
    most ``lease`` tokens per process briefly (a lease older than the refill); the price
    is the opposite error: tokens leased by one process and dropped unused are lost
    to the others. A refusal is remembered until a token can have refilled, so a client
    over its limit costs no store write per request either.

    Buckets that have refilled are deleted now and then (a new one starts full, so nobody's
    limit changes): many distinct clients cannot grow the table without bound.
    """

    def __init__(self, store: OpsStore, scope: str, rate: float, burst: int,
                 lease_s: float = 1.0) -> None:
        self.store = store
        self.scope = scope
        self.rate = rate
        self.burst = float(burst)
        self.lease = max(1, min(int(rate / 10), int(burst) // 8, 64))
        self.lease_s = lease_s
        self._leased: dict[str, tuple[int, float]] = {}  # name -> (tokens, expiry)
        self._refilling: set[str] = set()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def __len__(self) -> int:
        return access.count_buckets(self.store)

    def take(self, name: str) -> float:
        """0.0 when allowed, else the seconds until a token is available.

        Called on the event loop: it touches the store only when this process holds no
        token for ``name``; a lease running low is topped up in a background thread
        first, so a store write that waits for SQLite's lock (another process's write, a
        WAL checkpoint) does not hold up every request of the process.
        """
        now = time.monotonic()
        with self._lock:
            tokens, expiry = self._leased.get(name, (0, 0.0))
            if tokens > 0 and now < expiry:
                self._leased[name] = (tokens - 1, expiry)
                if tokens - 1 <= self.lease // 4 and name not in self._refilling:
                    self._refilling.add(name)
                    self._executor().submit(self._refill, name)
                return 0.0
            if tokens < 0 and now < expiry:  # denied: no token can have refilled yet
                return expiry - now
            self._leased.pop(name, None)
            if len(self._leased) > 10_000:  # many names: forget expired leases
                self._leased = {k: v for k, v in self._leased.items() if v[1] > now}
        granted, wait = access.take_tokens(self.store, self.scope, name, self.rate,
                                           self.burst, self.lease)
        with self._lock:
            if granted > 1:
                self._add(name, granted - 1, now)
            elif not granted:  # remembered until a token refills: no store write per refusal
                self._leased[name] = (-1, now + min(wait, self.lease_s))
        return 0.0 if granted else wait

    def _add(self, name: str, granted: int, now: float) -> None:
        tokens, expiry = self._leased.get(name, (0, 0.0))
        kept = tokens if tokens > 0 and now < expiry else 0
        self._leased[name] = (kept + granted, now + self.lease_s)

    def _refill(self, name: str) -> None:
        """Top up a lease running low (in the background thread)."""
        try:
            granted, _ = access.take_tokens(self.store, self.scope, name, self.rate,
                                            self.burst, self.lease)
            if granted:
                with self._lock:
                    self._add(name, granted, time.monotonic())
        except Exception as exc:  # the request path retries synchronously when dry
            log.warning("rate limit lease not refilled (%s)", type(exc).__name__)
        finally:
            with self._lock:
                self._refilling.discard(name)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="insightloop-limits")
        return self._pool


class KeyStore:
    """The stored keys, loaded from the operational store; reloaded after a key change here
    and when another process changed them (see :meth:`reload_if_changed`)."""

    def __init__(self, ctx: Context, store: OpsStore) -> None:
        self.ctx = ctx
        self.store = store
        self.version = -1
        self._records: dict[str, KeyRecord] = {}

    def reload(self) -> None:
        with self.store.read() as conn:
            version = op_keys.keys_version(conn)
        self._records = load_keys(self.ctx)
        self.version = version

    def reload_if_changed(self, version: int) -> None:
        if version != self.version:
            self.reload()

    def verify(self, presented: str) -> KeyRecord | None:
        return verify_key(self._records, presented)

    def get(self, key_id: str) -> KeyRecord | None:
        rec = self._records.get(key_id)
        return rec if rec is not None and rec.active else None

    def __len__(self) -> int:
        return sum(rec.active for rec in self._records.values())


class Sessions:
    """Dashboard sessions in the operational store: a random token (the cookie) whose
    SHA-256 maps to a key id, with expiry; valid in every worker and across restarts."""

    def __init__(self, store: OpsStore, hours: float, max_sessions: int = 10_000) -> None:
        self.store = store
        self.seconds = hours * 3600.0
        self.max_sessions = max_sessions

    def __len__(self) -> int:
        return access.count_sessions(self.store)

    def create(self, key_id: str) -> str:
        """A new session token; past ``max_sessions`` the oldest sessions end."""
        token = secrets.token_urlsafe(32)
        access.create_session(self.store, token, key_id, self.seconds, self.max_sessions)
        return token

    def key_id(self, token: str | None) -> str | None:
        return access.session_key(self.store, token) if token else None

    def drop(self, token: str | None) -> None:
        if token:
            access.drop_session(self.store, token)
