"""insightloop: model-driven marketing intelligence on an embedded warehouse.

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

from insightloop.errors import InsightloopError

__version__ = "0.1.0"
__all__ = ["InsightloopError", "__version__"]
