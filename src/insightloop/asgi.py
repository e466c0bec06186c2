"""The ASGI application: ``create_app(settings)`` composes the API (``/api/v1``), the
dashboard (``/``) and the middleware around them.

This module sits above both :mod:`insightloop.api` and :mod:`insightloop.web` (layers, top
to bottom: cli, asgi, web, api, ...): the routers and pages import the shared
:class:`~insightloop.api.server.Server`, never this module. Run it with
``insightloop serve`` (uvicorn); see ``docs/serving.md``.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from insightloop import __version__
from insightloop.api import errors
from insightloop.api.audit import AuditTrail
from insightloop.api.config import ServeConfig
from insightloop.api.middleware import BodyLimit, Cors, HeadersAndLog
from insightloop.api.routers import (
    admin,
    assistant,
    audiences,
    campaigns,
    catalog,
    customers,
    experiments,
    planning,
    privacy,
)
from insightloop.api.server import API_PREFIX, Server
from insightloop.api.workers import state_from_env
from insightloop.settings import Settings
from insightloop.web import docs
from insightloop.web import routes as web

DESCRIPTION = ("Customer 360 profiles, segments, scores with reasons, recommendations, "
               "review sentiment and jobs over an insightloop warehouse. Every endpoint "
               "except `GET /api/v1/health` needs an `X-API-Key` header. Every error "
               "answers `{\"error\": {\"code\", \"message\"}}` (validation errors add "
               "`details`).")


def create_app(settings: Settings, config: ServeConfig | None = None) -> FastAPI:
    """The API under ``/api/v1`` and the dashboard under ``/``, over ``settings.warehouse``."""
    config = config or ServeConfig()
    srv = Server(settings, config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        srv.warmer = threading.Thread(target=web.warm, args=(srv,), name="insightloop-warm",
                                      daemon=True)
        srv.warmer.start()
        yield
        srv.stop()

    app = FastAPI(
        title="insightloop API", version=__version__, lifespan=lifespan,
        description=DESCRIPTION, docs_url=None, redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.server = srv
    srv.start()
    errors.install(app)
    web.install_error_pages(app)  # HTML 404s outside /api/ (the API keeps its JSON)
    for module in (admin, customers, catalog, experiments, planning, privacy, audiences,
                   campaigns, assistant):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(docs.router, prefix=API_PREFIX)
    app.include_router(web.router)
    web.mount_static(app)
    if config.cors_origins:
        app.add_middleware(Cors, allow_origins=list(config.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["X-API-Key", "Content-Type"])
    app.add_middleware(AuditTrail, settings=settings)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(HeadersAndLog, max_header_bytes=config.max_header_bytes,
                       max_header_line_bytes=config.max_header_line_bytes)
    if config.forwarded_allow_ips:
        # Outermost: the client address and scheme are fixed before anything reads them.
        # uvicorn itself runs with proxy_headers off (see cli/serve.py).
        app.add_middleware(ProxyHeadersMiddleware,
                           trusted_hosts=list(config.forwarded_allow_ips))
    return app


def app_from_env() -> FastAPI:
    """The app of one worker process, from ``INSIGHTLOOP_SERVE_STATE`` (a uvicorn factory:
    :data:`insightloop.api.workers.FACTORY`)."""
    return create_app(*state_from_env())
