"""The FastAPI application: ``create_app(settings)`` gives the API and the dashboard.

Run it with ``insightloop serve`` (uvicorn). See ``docs/serving.md``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import duckdb
from fastapi import Depends, FastAPI, Request
from fastapi.security import APIKeyHeader

from insightloop import __version__
from insightloop.api import errors
from insightloop.api.config import ServeConfig
from insightloop.api.errors import ApiError
from insightloop.api.jobs import Job, JobRunner
from insightloop.api.middleware import BodyLimit, HeadersAndLog
from insightloop.api.state import Cache, KeyStore, Sessions, TokenBuckets, WarehouseGate
from insightloop.api.store import StoreHolder
from insightloop.errors import NotFoundError
from insightloop.services.keys import KeyRecord, role_allows
from insightloop.settings import Settings

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
        self.cache = Cache(self.gate, config.cache_bytes)
        self.keys = KeyStore(settings)
        self.sessions = Sessions(config.session_hours)
        self.limits = TokenBuckets(config.rate_per_s, config.burst)
        self.failed_auth = TokenBuckets(config.failed_auth_per_s, config.failed_auth_burst)
        self.jobs = JobRunner(settings, self.gate, config.ingest_root, self._job_done,
                              config.max_queued_jobs)
        self._recommender: Any = None
        self._rec_lock = threading.Lock()
        self.warmer: threading.Thread | None = None
        self.store = StoreHolder(settings, self.cursor, lambda: self.gate.generation)

    def start(self) -> None:
        self.gate.open()
        with self.gate.read():
            self.keys.reload()
        self.store.open()  # the serving store of the hot endpoints, if fresh

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
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A cursor on the open read-only warehouse (None before it exists), as a read."""
        with self.gate.read():
            anchor = self.gate.anchor
            if anchor is None:
                yield None
                return
            cur = anchor.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def query(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(settings, *args, con=cursor, **kwargs)`` for services that take a connection."""
        with self.cursor() as con:
            return fn(self.settings, *args, con=con, **kwargs)

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
                from insightloop.services.recommend import load_recommender

                try:
                    self._recommender = self.read(load_recommender, self.settings)
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
        with self.gate.read():
            self.keys.reload()
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


def create_app(settings: Settings, config: ServeConfig | None = None) -> FastAPI:
    """The API under ``/api/v1`` and the dashboard under ``/``, over ``settings.warehouse``."""
    from contextlib import asynccontextmanager

    from insightloop.api.routers import admin, catalog, customers
    from insightloop.web import routes as web

    config = config or ServeConfig()
    srv = Server(settings, config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        srv.warmer = threading.Thread(target=web.warm, args=(srv,), name="insightloop-warm",
                                      daemon=True)
        srv.warmer.start()
        yield
        srv.stop()

    app = FastAPI(
        title="insightloop API", version=__version__, lifespan=lifespan,
        description="Customer 360 profiles, segments, scores with reasons, recommendations, "
                    "review sentiment and jobs over an insightloop warehouse. Every endpoint "
                    "except `GET /api/v1/health` needs an `X-API-Key` header.",
        docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json",
    )
    app.state.server = srv
    srv.start()
    errors.install(app)
    for module in (admin, customers, catalog):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(web.router)
    web.mount_static(app)
    if config.cors_origins:
        from insightloop.api.middleware import Cors

        app.add_middleware(Cors, allow_origins=list(config.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["X-API-Key", "Content-Type"])
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(HeadersAndLog, max_header_bytes=config.max_header_bytes,
                       max_header_line_bytes=config.max_header_line_bytes)
    if config.forwarded_allow_ips:
        # Outermost: the client address and scheme are fixed before anything reads them.
        # uvicorn itself runs with proxy_headers off (see cli/serve.py).
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware,
                           trusted_hosts=list(config.forwarded_allow_ips))
    return app
