"""Job kinds and their typed parameters, checked when a job is submitted (422) and again
when a server process picks it up to run; :func:`job_callable` gives what a job runs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from insightloop.errors import ConfigError, WarehouseError
from insightloop.services.context import Context
from insightloop.services.ingest import ingest
from insightloop.settings import Settings
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import Warehouse, has_table

JOB_KINDS = ("ingest", "profiles", "clv", "segments", "cohorts", "train", "score",
             "recommendations", "sentiment", "topics", "demo")
INGEST_TABLES = ("customers", "products", "orders", "events", "reviews", "campaigns", "sends",
                 "consents")
TRAIN_TASKS = ("churn", "propensity", "response")
_MODEL_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(:[vV]?[0-9]{1,6})?$")


def _member(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{value[:80]!r} is not allowed; use one of: {', '.join(allowed)}")
    return value


class _Params(BaseModel):
    """Parameters of a job kind: unknown names are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestParams(_Params):
    table: str
    path: str = Field(min_length=1, max_length=1024)
    preset: str | None = None

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return _member(value, INGEST_TABLES)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("a path cannot hold control characters (NUL, newline, ...)")
        return value

    @field_validator("preset")
    @classmethod
    def _preset(cls, value: str | None) -> str | None:
        from insightloop.storage.presets import PRESETS

        return None if value is None else _member(value, tuple(sorted(PRESETS)))


class TrainParams(_Params):
    task: str = "churn"
    horizon_days: StrictInt = Field(90, ge=1, le=3650)

    @field_validator("task")
    @classmethod
    def _task(cls, value: str) -> str:
        return _member(value, TRAIN_TASKS)


class ScoreParams(_Params):
    model: str = Field("churn", max_length=80)

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        if not _MODEL_REF.match(value):
            raise ValueError(f"{value[:80]!r} is not a model reference: use NAME or "
                             "NAME:VERSION of a model listed by `insightloop models list`")
        return value


class RecommendParams(_Params):
    model: str = "auto"
    embedder: str = "tfidf"

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        from insightloop.models.recommend import MODELS

        return _member(value, ("auto", *sorted(MODELS)))

    @field_validator("embedder")
    @classmethod
    def _embedder(cls, value: str) -> str:
        from insightloop.services.recommend import EMBEDDERS

        return _member(value, EMBEDDERS)


PARAMS: dict[str, type[_Params]] = {
    "ingest": IngestParams, "train": TrainParams, "score": ScoreParams,
    "recommendations": RecommendParams,
}


def validate_params(kind: str, params: dict[str, Any]) -> _Params:
    """The typed parameters of a job, or :class:`ConfigError` naming the parameter."""
    if kind not in JOB_KINDS:
        raise ConfigError(f"kind must be one of {JOB_KINDS}, got {kind[:80]!r}")
    try:
        return PARAMS.get(kind, _Params).model_validate(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "params"
        text = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        if first.get("type") == "extra_forbidden":
            known = ", ".join(PARAMS.get(kind, _Params).model_fields) or "none"
            text = f"unknown parameter for a {kind} job (parameters: {known})"
        raise ConfigError(f"params.{where}: {text}") from exc


def _ingest(p: IngestParams, root: Path | None) -> Callable[[Settings], Any]:
    """Check the file of an ingest job now; the returned callable loads it."""
    if root is None:
        raise ConfigError("ingest jobs are off: start the server with --ingest-root FOLDER")
    base = root.resolve()
    try:
        path = (base / p.path).resolve()
        inside = path.is_relative_to(base) and path.is_file()
    except (OSError, ValueError):
        inside = False
    if not inside:
        raise ConfigError("params.path must name a file inside the ingest root")
    return lambda s: ingest(Context.from_settings(s), p.table, path, preset=p.preset)


def data_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Rows in the tables that ingestion fills (0 for an empty warehouse)."""
    names = [t for t in INGEST_TABLES if has_table(con, t)]
    if not names:
        return 0
    row = con.execute("SELECT " + " + ".join(f"(SELECT count(*) FROM {ident(t)})"
                                             for t in names)).fetchone()
    return int(row[0]) if row else 0


NOT_EMPTY = ("the demo job only runs on an empty warehouse and this one holds {:,} rows; "
              "serve a new warehouse path to try the demo")


def _demo(settings: Settings) -> Any:
    """Check again under the job's write lock (another job may have loaded data since)."""
    from insightloop.services.demo import run_demo

    wh = Warehouse.from_settings(settings)
    if wh.exists:
        with wh.connect(read_only=True) as con:
            rows = data_rows(con)
        if rows:
            raise WarehouseError(NOT_EMPTY.format(rows))
    return run_demo(settings).steps


def job_callable(kind: str, p: _Params, root: Path | None, settings: Settings
            ) -> Callable[[Settings], Any]:
    """The callable for a job (checked here, before the job is queued)."""
    if isinstance(p, IngestParams):
        return _ingest(p, root)
    if kind == "profiles":
        from insightloop.services.profiles import build_profiles
        return lambda s: build_profiles(Context.from_settings(s))
    if kind == "clv":
        from insightloop.services.clv import build_clv
        return lambda s: build_clv(Context.from_settings(s))
    if kind == "segments":
        from insightloop.services.segments import build_segments
        return lambda s: build_segments(Context.from_settings(s))
    if kind == "cohorts":
        from insightloop.services.cohorts import build_cohorts
        return lambda s: build_cohorts(Context.from_settings(s))
    if isinstance(p, TrainParams):
        from insightloop.services.training import train_task
        return lambda s: _brief(train_task(Context.from_settings(s), p.task,
                                           horizon_days=p.horizon_days))
    if isinstance(p, ScoreParams):
        from insightloop.services.registry import list_models
        from insightloop.services.scoring import score_warehouse

        known = tuple(sorted({str(m["name"]) for m in list_models(settings)}))
        if p.model.split(":")[0] not in known:
            raise ConfigError(f"params.model: {p.model[:80]!r} is not a registered model; "
                              f"use one of: {', '.join(known) or 'none (train one first)'}")
        return lambda s: score_warehouse(Context.from_settings(s), p.model)
    if isinstance(p, RecommendParams):
        from insightloop.services import recommend
        return lambda s: recommend.build_recommendations(Context.from_settings(s), model=p.model,
                                                         embedder=p.embedder)
    if kind == "sentiment":
        from insightloop.services import sentiment
        return lambda s: sentiment.score_reviews(Context.from_settings(s))
    if kind == "topics":
        from insightloop.services import sentiment as topics
        return lambda s: topics.discover_topics(Context.from_settings(s))
    return _demo


def _brief(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in ("name", "version", "model", "metrics", "rows") if k in meta}
