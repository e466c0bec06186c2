"""Several server processes: uvicorn's workers build their app from environment variables.

uvicorn starts worker processes by importing an app factory by name, so the parent puts
the :class:`~insightloop.settings.Settings` and :class:`~insightloop.api.config.ServeConfig`
into ``INSIGHTLOOP_SERVE_STATE`` (JSON) and every worker calls
:func:`insightloop.asgi.app_from_env`.

Keys, sessions, rate limits and jobs live in the operational store that every worker
shares (:mod:`insightloop.storage.operational`; migrated here, in the parent, before the
workers start): any worker accepts a job and exactly one runs it, while the others close
their read-only warehouse connections until it ends (:class:`~insightloop.api.jobs.JobRunner`).
See ``docs/operations.md``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from insightloop.api.config import ServeConfig
from insightloop.errors import ConfigError, InsightloopError
from insightloop.services.context import Context
from insightloop.services.results import StoreReady
from insightloop.services.serving import ensure_store
from insightloop.settings import Settings
from insightloop.storage.operational import open_ops

ENV = "INSIGHTLOOP_SERVE_STATE"
FACTORY = "insightloop.asgi:app_from_env"
LOG_FORMAT = "%(asctime)s %(name)s %(message)s"  # as `insightloop serve` (cli/serve.py)
D = TypeVar("D")


def state_env(settings: Settings, config: ServeConfig) -> dict[str, str]:
    """The environment variable that carries ``settings`` and ``config`` to the workers."""
    return {ENV: json.dumps({"settings": _plain(settings), "config": _plain(config)})}


def state_from_env() -> tuple[Settings, ServeConfig]:
    """Settings and config of one worker process, from ``INSIGHTLOOP_SERVE_STATE`` (for the
    uvicorn factory :func:`insightloop.asgi.app_from_env`)."""
    # A worker is a fresh interpreter: without this its access log (INFO) would be dropped.
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    raw = os.environ.get(ENV)
    if not raw:
        raise ConfigError(f"{ENV} is not set; start workers with `insightloop serve --workers N`")
    state = json.loads(raw)
    return _build(Settings, state["settings"]), _build(ServeConfig, state["config"])


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
            for f in dataclasses.fields(obj) for v in [getattr(obj, f.name)]}


def _build(cls: type[D], values: dict[str, Any]) -> D:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in values:
            continue
        v = values[f.name]
        if isinstance(v, list):
            v = tuple(v)
        elif isinstance(v, str) and "Path" in str(f.type):
            v = Path(v)
        kwargs[f.name] = v
    return cls(**kwargs)


def prepare_store(settings: Settings) -> StoreReady | None:
    """Build the serving store when missing or stale (None when there is no warehouse yet
    or it cannot be built: the server then answers live, and says so in its log)."""
    log = logging.getLogger("insightloop.serving")
    if not settings.warehouse.exists():
        return None
    try:
        out = ensure_store(Context.from_settings(settings),
                           on_progress=lambda m: log.info("serving store: %s", m))
    except (InsightloopError, OSError) as exc:
        log.warning("serving store not built (%s); answering live from the warehouse", exc)
        return None
    if out["built"]:
        log.info("serving store built: %s customers, %s", out["customers"], out["path"])
    return out


def run_uvicorn(create_app: Callable[[Settings, ServeConfig], FastAPI], settings: Settings,
                config: ServeConfig, host: str, port: int, **options: Any) -> None:
    """Build the serving store if needed, then run uvicorn with ``config.workers`` processes
    (one: ``create_app(settings, config)``; several: the :data:`FACTORY` in each worker).
    ``create_app`` is :func:`insightloop.asgi.create_app` (above this layer)."""
    open_ops(settings)  # migrate the operational store once, before any worker opens it
    prepare_store(settings)
    if config.workers <= 1:
        uvicorn.run(create_app(settings, config), host=host, port=port, **options)
        return
    os.environ.update(state_env(settings, config))
    uvicorn.run(FACTORY, factory=True, workers=config.workers, host=host, port=port, **options)
