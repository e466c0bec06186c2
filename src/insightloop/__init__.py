"""insightloop: model-driven marketing intelligence on an embedded warehouse.

The Python API (``docs/python-api.md``)::

    import insightloop as il

    ctx = il.open_warehouse("shop.duckdb")
    il.ingest(ctx, "orders", orders_frame, preset="online-retail")
    il.build_profiles(ctx)
    il.table(ctx, "profiles")           # a frame indexed by customer_id
    il.recommend(ctx, [17850.0])        # ids normalised as ingestion does

Every public name below is loaded on first use (PEP 562 ``__getattr__``), so
``import insightloop`` stays light: the services pull in pandas, scikit-learn and the
model libraries only when a function that needs them is called.

Layers, top to bottom; a module imports only from layers beneath it (``.importlinter``
enforces this, ``docs/architecture.md`` explains it)::

    cli           typer commands
    asgi          the ASGI app: composes the API and the dashboard
    web           dashboard pages
    api           the HTTP API: server, routers, jobs
    report        the static HTML report and its pages
    services      use cases: build, fit, score, recommend
    models        estimators and their maths
    features      table-in / table-out transforms
    storage       the DuckDB warehouse, ingest, readers, the operational store
    capabilities  what each capability declares: tables, jobs, pages, demo stages
    settings      configuration
    errors        the error types
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from insightloop.errors import InsightloopError

if TYPE_CHECKING:
    from insightloop.services.clv import build_clv
    from insightloop.services.context import Context
    from insightloop.services.library import (
        fit_churn,
        fit_classifier,
        fit_clv,
        fit_recommender,
        fit_sentiment,
        ingest,
        open_warehouse,
        predict,
        recommend,
        sentiment,
        table,
    )
    from insightloop.services.profiles import build_profiles
    from insightloop.services.recommend import build_recommendations
    from insightloop.services.scoring import score_warehouse as score
    from insightloop.services.segments import build_segments
    from insightloop.services.training import train_task as train
    from insightloop.settings import Settings
    from insightloop.storage.ids import normalize_id

__version__ = "0.1.0"

_LIBRARY = "insightloop.services.library"
#: public name -> "module:attribute", imported on first access.
_EXPORTS: dict[str, str] = {
    "Context": "insightloop.services.context:Context",
    "Settings": "insightloop.settings:Settings",
    "open_warehouse": f"{_LIBRARY}:open_warehouse",
    "ingest": f"{_LIBRARY}:ingest",
    "table": f"{_LIBRARY}:table",
    "build_profiles": "insightloop.services.profiles:build_profiles",
    "build_clv": "insightloop.services.clv:build_clv",
    "build_segments": "insightloop.services.segments:build_segments",
    "train": "insightloop.services.training:train_task",
    "score": "insightloop.services.scoring:score_warehouse",
    "build_recommendations": "insightloop.services.recommend:build_recommendations",
    "recommend": f"{_LIBRARY}:recommend",
    "fit_clv": f"{_LIBRARY}:fit_clv",
    "fit_churn": f"{_LIBRARY}:fit_churn",
    "fit_recommender": f"{_LIBRARY}:fit_recommender",
    "fit_classifier": f"{_LIBRARY}:fit_classifier",
    "predict": f"{_LIBRARY}:predict",
    "fit_sentiment": f"{_LIBRARY}:fit_sentiment",
    "sentiment": f"{_LIBRARY}:sentiment",
    "normalize_id": "insightloop.storage.ids:normalize_id",
}

__all__ = [
    "Context", "InsightloopError", "Settings", "__version__", "build_clv",
    "build_profiles", "build_recommendations", "build_segments", "fit_churn", "fit_classifier",
    "fit_clv", "fit_recommender", "fit_sentiment", "ingest", "normalize_id", "open_warehouse",
    "predict", "recommend", "score", "sentiment", "table", "train",
]


def __getattr__(name: str) -> Any:
    """Import a public name of :data:`_EXPORTS` on first access (then cached here)."""
    ref = _EXPORTS.get(name)
    if ref is None:
        raise AttributeError(f"module 'insightloop' has no attribute {name!r}")
    module, _, attr = ref.partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
