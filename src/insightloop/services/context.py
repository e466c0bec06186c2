"""The one context every service takes: settings, the warehouse, the model store, the engine.

A front end (the CLI, the API server, a notebook) builds it once with
:meth:`Context.from_settings` and passes it to each service call::

    ctx = Context.from_settings(Settings.load())
    build_profiles(ctx)
    build_clv(ctx)

The warehouse is built here, once, from the settings (memory limit and read-only flag
included), so no service opens the DuckDB file on its own terms; models go through the
versioned registry (:mod:`insightloop.services.registry`) bound to the settings' model
folder. Services read with ``with ctx.read() as con``: a process that keeps a read-only
connection open (the API server) gives the context a *reader* (:meth:`Context.with_reader`)
and every read reuses that connection instead of opening the file again.

When the settings' warehouse is a lake folder (:mod:`insightloop.storage.lake`), reads get
an in-memory DuckDB connection with one view per lake table (so every read path works on a
lake), and the stages that write run on Spark (``engine.is_spark``; :mod:`.spark`). A
connection held open by a server sees new files of the tables it has views for (each query
lists the Parquet files again), but not tables created after it was opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, cast

import duckdb

from insightloop.services.results import ModelInfo, ModelSummary
from insightloop.settings import Settings
from insightloop.storage.warehouse import Warehouse

if TYPE_CHECKING:  # annotations only: `ingest` and other light commands skip pandas
    import pandas as pd


def _registry() -> ModuleType:
    # `ingest` and other commands that never touch a model start without pandas (issue 20)
    # lazy: the model registry loads pandas
    from insightloop.services import registry

    return registry


EngineName = Literal["duckdb", "spark"]
#: A read-only connection already open elsewhere (the API server's anchor), or None.
Reader = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection | None]]


@dataclass(frozen=True)
class Engine:
    """Where the engine-neutral (Ibis) feature pipelines run."""

    name: EngineName = "duckdb"
    spark_master: str = "local[2]"

    @property
    def is_spark(self) -> bool:
        return self.name == "spark"


@dataclass(frozen=True)
class ModelStore:
    """The versioned model registry of one settings object (see :mod:`.registry`)."""

    settings: Settings

    @property
    def root(self) -> Path:
        return Path(self.settings.models_dir)

    def save(self, name: str, model: Any, metadata: dict[str, Any],
             evaluation: pd.DataFrame | None = None) -> ModelInfo:
        """Register ``model`` as the next version of ``name``; returns its metadata."""
        return cast(ModelInfo, _registry().save_model(self.settings, name, model, metadata,
                                                   evaluation))

    def load(self, ref: str) -> tuple[Any, dict[str, Any]]:
        """The model and metadata of ``name`` or ``name@vN`` (integrity-checked)."""
        return _registry().load_model(self.settings, ref)

    def folder(self, ref: str) -> Path:
        """The folder of ``name`` (latest version) or ``name:vN`` (NotFoundError if none)."""
        return _registry().model_dir(self.settings, ref)

    def metadata(self, ref: str) -> dict[str, Any]:
        return _registry().read_metadata(self.settings, ref)

    def evaluation(self, ref: str) -> pd.DataFrame | None:
        return _registry().load_evaluation(self.settings, ref)

    def list(self) -> list[ModelSummary]:
        """One summary per registered version, sorted by name then version."""
        return cast("list[ModelSummary]", _registry().list_models(self.settings))


@dataclass(frozen=True)
class Context:
    """Settings, warehouse, model store and engine of one run of insightloop."""

    settings: Settings
    warehouse: Warehouse
    models: ModelStore = field(repr=False)
    engine: Engine
    reader: Reader | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        """The context of ``settings``: the one place a service's warehouse is built."""
        return cls(settings=settings, warehouse=Warehouse.from_settings(settings),
                   models=ModelStore(settings),
                   engine=Engine(settings.engine, settings.spark_master))

    def with_settings(self, settings: Settings) -> Context:
        """The same kind of context for other settings (another warehouse, say)."""
        return Context.from_settings(settings)

    def with_reader(self, reader: Reader) -> Context:
        """This context, reading through ``reader`` (a server's open read-only connection;
        it yields None while there is none, and reads then open the warehouse themselves)."""
        return replace(self, reader=reader)

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the warehouse: the reader's when this context has one,
        else one opened now (an error naming the command to run when there is no warehouse).
        """
        if self.reader is not None:
            with self.reader() as con:
                if con is not None:
                    yield con
                    return
        with self.warehouse.connect(read_only=True) as own:
            yield own
