"""What one server process shares between requests (:class:`Server`), and the request
dependencies of the API and the dashboard: :func:`server_of`, :func:`requires`.

The app itself (API routers, dashboard, middleware) is composed in :mod:`insightloop.asgi`,
above both ``api`` and ``web``; nothing here imports a router or a dashboard page.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import duckdb
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from insightloop.api.config import ServeConfig
from insightloop.api.errors import ApiError
from insightloop.api.jobs import Job, JobRunner
from insightloop.api.state import Cache, KeyStore, Sessions, SharedBuckets, WarehouseGate
from insightloop.api.store import StoreHolder
from insightloop.errors import NotFoundError
from insightloop.services.context import Context
from insightloop.services.keys import KeyRecord, role_allows
from insightloop.settings import Settings
from insightloop.storage.operational import open_ops

T = TypeVar("T")
log = logging.getLogger("insightloop.api")
API_PREFIX = "/api/v1"
key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                          description="API key created with `insightloop keys create`.")


class Server:
    """Everything one server process shares between requests."""

    def __init__(self, settings: Settings, config: ServeConfig) -> None:
        self.settings = settings
        self.config = config
        self.gate = WarehouseGate(settings, config.read_wait_s)
        # The one context of this process: services read through the gate's open anchor.
        self.ctx = Context.from_settings(settings).with_reader(self._anchor_cursor)
        self.cache = Cache(self.gate, config.cache_bytes)
        # Keys, sessions, rate limits and jobs: the operational store every worker shares.
        self.ops = open_ops(settings)
        self.keys = KeyStore(self.ctx, self.ops)
        self.sessions = Sessions(self.ops, config.session_hours)
        self.limits = SharedBuckets(self.ops, "key", config.rate_per_s, config.burst)
        self.failed_auth = SharedBuckets(self.ops, "auth", config.failed_auth_per_s,
                                         config.failed_auth_burst)
        self.jobs = JobRunner(settings, self.gate, config.ingest_root, self._job_done,
                              config.max_queued_jobs, store=self.ops,
                              on_keys=self.keys.reload_if_changed)
        self._recommender: Any = None
        self._rec_lock = threading.Lock()
        self.warmer: threading.Thread | None = None
        self.store = StoreHolder(self.ctx, self.cursor, lambda: self.gate.generation)

    def start(self) -> None:
        self.gate.open()
        self.keys.reload()
        if not self.gate.blocked:  # else opened when the other process's job ends
            self.store.open()  # the serving store of the hot endpoints, if fresh
        self.jobs.start()

    def stop(self) -> None:
        # Threads that touch DuckDB or OpenMP must end before the interpreter does.
        if self.warmer is not None:
            self.warmer.join(60)
        self.jobs.shutdown()
        self.store.close()
        self.gate.close()

    def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` as a warehouse read (waits for a running job's write)."""
        with self.gate.read():
            return fn(*args, **kwargs)

    @contextmanager
    def _anchor_cursor(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A cursor on the open read-only warehouse (None before it exists): how
        :attr:`ctx` reads. The caller holds the gate (:meth:`read`, :meth:`query`)."""
        anchor = self.gate.anchor
        if anchor is None:
            yield None
            return
        cur = anchor.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A cursor on the open read-only warehouse (None before it exists), as a read."""
        with self.gate.read(), self._anchor_cursor() as cur:
            yield cur

    def query(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(ctx, *args, **kwargs)`` as a warehouse read: a service that takes the context
        reads through the open anchor connection."""
        with self.gate.read():
            return fn(self.ctx, *args, **kwargs)

    def cached(self, name: str, fn: Callable[[], T]) -> T:
        """``fn()`` computed once per warehouse generation, as a read."""
        return self.cache.get(name, lambda: self.read(fn))

    def loaded_recommender(self) -> Any:
        """The recommendation server if loaded, else None (never waits)."""
        return self._recommender

    def recommender(self) -> Any:
        """The loaded recommendation server (loaded on first use, reloaded after jobs)."""
        rec = self._recommender
        if rec is not None:
            return rec
        with self._rec_lock:
            if self._recommender is None:
                # lazy: model code (scikit-learn, scipy) only once a request needs it live
                from insightloop.services.recommend import load_recommender

                try:
                    self._recommender = self.read(load_recommender, self.ctx)
                except NotFoundError as exc:
                    raise ApiError(409, "not_built", str(exc)) from exc
            return self._recommender

    def single_writer(self) -> None:
        """409 when several server processes run: none of them may write the warehouse."""
        if self.config.workers > 1:
            raise ApiError(409, "several_workers", f"this server runs {self.config.workers} "
                           "worker processes, which all hold the warehouse open for reading, "
                           "so it cannot be written here; run jobs and key changes with one "
                           "worker (`insightloop serve --workers 1`) or from the CLI")

    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a short write now (waits for running reads and jobs)."""
        self.single_writer()
        with self.gate.write():
            return fn(*args, **kwargs)

    def _job_done(self, job: Job) -> None:
        self._recommender = None
        self.cache.clear()
        self.store.refresh()  # rebuilt when the job changed what it holds

    def authorize(self, request: Request, presented: str | None, needed: str) -> KeyRecord:
        """The key record for a request, or 401/403/429 as an :class:`ApiError`."""
        if not presented:
            self._failed(request)
            raise ApiError(401, "missing_key", "send an API key in the X-API-Key header",
                           {"WWW-Authenticate": "X-API-Key"})
        rec = self.keys.verify(presented)
        if rec is None:
            self._failed(request)
            raise ApiError(401, "invalid_key", "the API key is not valid or was revoked",
                           {"WWW-Authenticate": "X-API-Key"})
        return self.check(request, rec, needed)

    def check(self, request: Request, rec: KeyRecord, needed: str) -> KeyRecord:
        request.state.key_id = rec.key_id
        request.state.role = rec.role  # the audit trail records it (api/audit.py)
        wait = self.limits.take(rec.key_id)
        if wait > 0:
            raise ApiError(429, "rate_limited", "too many requests for this key; slow down",
                           {"Retry-After": str(max(1, round(wait + 0.5)))})
        if not role_allows(rec.role, needed):
            raise ApiError(403, "forbidden", f"this endpoint needs the {needed!r} role; the key "
                           f"has {rec.role!r}")
        return rec

    def _failed(self, request: Request) -> None:
        client = request.client.host if request.client else "?"
        wait = self.failed_auth.take(client)
        if wait > 0:
            raise ApiError(429, "rate_limited", "too many requests without a valid key",
                           {"Retry-After": str(max(1, round(wait + 0.5)))})


def server_of(request: Request) -> Server:
    srv: Server = request.app.state.server
    return srv


def requires(role: str) -> Any:
    """A dependency that authenticates the X-API-Key header and checks ``role``."""

    async def dependency(request: Request,
                         key: Annotated[str | None, Depends(key_header)] = None) -> KeyRecord:
        return server_of(request).authorize(request, key, role)

    return Depends(dependency)
