"""The services context of a test: from a Settings object, a warehouse path or a Warehouse.

Tests build warehouses in temporary folders; :func:`ctx_of` gives the
:class:`~insightloop.services.context.Context` every service takes, with the environment
ignored (a developer's ``INSIGHTLOOP_*`` variables never leak into a test).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from insightloop.services.context import Context
from insightloop.settings import Settings
from insightloop.storage.warehouse import Warehouse


def ctx_of(where: Settings | Warehouse | Path | str, **settings: Any) -> Context:
    """``Context.from_settings`` of ``where``: settings as given, or those of a warehouse
    path (models and reports beside it), with ``settings`` (e.g. ``engine="spark"``) set.
    A :class:`Warehouse` is used as it is (an in-memory one keeps its data)."""
    if isinstance(where, Context):
        return where
    if isinstance(where, Settings):
        base = where
    else:
        path = where.path if isinstance(where, Warehouse) else where
        base = Settings.load(warehouse=path, env={})
    if settings:
        base = Settings.from_mapping({**{f: getattr(base, f) for f in
                                         base.__dataclass_fields__}, **settings})
    ctx = Context.from_settings(base)
    return replace(ctx, warehouse=where) if isinstance(where, Warehouse) else ctx
