"""Background jobs (ingest, builds, training) run one at a time inside the server process.

A job takes the warehouse gate exclusively while it runs (see
:mod:`insightloop.api.state`), so the server stays the only writer. Jobs live in
memory: their history is lost when the server stops.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from insightloop.api.errors import ApiError
from insightloop.api.state import WarehouseGate
from insightloop.errors import ConfigError, InsightloopError, WarehouseError
from insightloop.services.records import plain
from insightloop.settings import Settings
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import Warehouse, has_table

log = logging.getLogger("insightloop.api.jobs")
JOB_KINDS = ("ingest", "profiles", "clv", "segments", "cohorts", "train", "score",
             "recommendations", "sentiment", "topics", "demo")
INGEST_TABLES = ("customers", "products", "orders", "events", "reviews", "campaigns", "sends",
                 "consents")
TRAIN_TASKS = ("churn", "propensity", "response")
MAX_HISTORY = 200
_MODEL_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(:[vV]?[0-9]{1,6})?$")


@dataclass
class Job:
    id: str
    kind: str
    params: dict[str, Any]
    key_id: str
    status: str = "queued"
    created_at: datetime = field(default_factory=datetime.now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: Any = None
    error: dict[str, str] | None = None

    def public(self) -> dict[str, Any]:
        return plain({"id": self.id, "kind": self.kind, "params": self.params,
                      "status": self.status, "created_at": self.created_at,
                      "started_at": self.started_at, "finished_at": self.finished_at,
                      "result": self.result, "error": self.error})


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
    from insightloop.storage.ingest import ingest_file

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
    return lambda s: ingest_file(Warehouse.from_settings(s), p.table, path,
                                 preset=p.preset).as_dict()


def data_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Rows in the tables that ingestion fills (0 for an empty warehouse)."""
    names = [t for t in INGEST_TABLES if has_table(con, t)]
    if not names:
        return 0
    row = con.execute("SELECT " + " + ".join(f"(SELECT count(*) FROM {ident(t)})"
                                             for t in names)).fetchone()
    return int(row[0]) if row else 0


_NOT_EMPTY = ("the demo job only runs on an empty warehouse and this one holds {:,} rows; "
              "serve a new warehouse path to try the demo")


def _demo(settings: Settings) -> Any:
    """Check again under the job's write lock (another job may have loaded data since)."""
    from insightloop.services.demo import run_demo

    wh = Warehouse.from_settings(settings)
    if wh.exists:
        with wh.connect(read_only=True) as con:
            rows = data_rows(con)
        if rows:
            raise WarehouseError(_NOT_EMPTY.format(rows))
    return run_demo(settings).steps


def _runner(kind: str, p: _Params, root: Path | None, settings: Settings
            ) -> Callable[[Settings], Any]:
    """The callable for a job (checked here, before the job is queued)."""
    if isinstance(p, IngestParams):
        return _ingest(p, root)
    if kind == "profiles":
        from insightloop.services.profiles import build_profiles
        return build_profiles
    if kind == "clv":
        from insightloop.services.clv import build_clv
        return lambda s: build_clv(Warehouse.from_settings(s))
    if kind == "segments":
        from insightloop.services.segments import build_segments
        return build_segments
    if kind == "cohorts":
        from insightloop.services.cohorts import build_cohorts
        return build_cohorts
    if isinstance(p, TrainParams):
        from insightloop.services.training import train_task
        return lambda s: _brief(train_task(s, p.task, horizon_days=p.horizon_days))
    if isinstance(p, ScoreParams):
        from insightloop.services.registry import list_models
        from insightloop.services.scoring import score_warehouse

        known = tuple(sorted({str(m["name"]) for m in list_models(settings)}))
        if p.model.split(":")[0] not in known:
            raise ConfigError(f"params.model: {p.model[:80]!r} is not a registered model; "
                              f"use one of: {', '.join(known) or 'none (train one first)'}")
        return lambda s: score_warehouse(s, p.model)
    if isinstance(p, RecommendParams):
        from insightloop.services import recommend
        return lambda s: recommend.build_recommendations(s, model=p.model, embedder=p.embedder)
    if kind == "sentiment":
        from insightloop.services import sentiment
        return lambda s: sentiment.score_reviews(s)
    if kind == "topics":
        from insightloop.services import sentiment as topics
        return lambda s: topics.discover_topics(s)
    return _demo


def _brief(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in ("name", "version", "model", "metrics", "rows") if k in meta}


class JobRunner:
    """A queue of jobs and the single worker thread that runs them."""

    def __init__(self, settings: Settings, gate: WarehouseGate, ingest_root: Path | None,
                 on_done: Callable[[Job], None], max_queued: int = 16) -> None:
        self.settings = settings
        self.gate = gate
        self.ingest_root = ingest_root
        self.on_done = on_done
        self.max_queued = max_queued
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Job, Callable[[Settings], Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def submit(self, kind: str, params: dict[str, Any], key_id: str) -> Job:
        """Queue a job after checking its parameters (:class:`ConfigError` -> 422), the
        queue bound (429) and, for ``demo``, that the warehouse is empty (409)."""
        typed = validate_params(kind, params)
        run = _runner(kind, typed, self.ingest_root, self.settings)
        if kind == "demo":
            with self._lock:
                busy = any(j.finished_at is None for j in self._jobs.values())
            if busy:
                raise ApiError(409, "conflict", "the demo job runs alone on an empty "
                               "warehouse: wait for the queued and running jobs to finish")
            rows = self._data_rows()
            if rows:
                raise ApiError(409, "conflict", _NOT_EMPTY.format(rows))
        job = Job(id=uuid.uuid4().hex, kind=kind, params=typed.model_dump(), key_id=key_id)
        with self._lock:
            waiting = sum(j.status == "queued" for j in self._jobs.values())
            if waiting >= self.max_queued:
                raise ApiError(429, "queue_full", f"{waiting} jobs are already waiting (at most "
                               f"{self.max_queued}); retry when one has finished",
                               {"Retry-After": "30"})
            self._jobs[job.id] = job
            if len(self._jobs) > MAX_HISTORY:
                done = [j for j in self._jobs.values() if j.finished_at is not None]
                for old in done[: len(self._jobs) - MAX_HISTORY]:
                    del self._jobs[old.id]
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="insightloop-jobs",
                                                daemon=True)
                self._thread.start()
        self._queue.put((job, run))
        log.info("job %s queued kind=%s key=%s", job.id, kind, key_id)
        return job

    def _data_rows(self) -> int:
        with self.gate.read():
            anchor = self.gate.anchor
            if anchor is None:
                return 0
            cur = anchor.cursor()
            try:
                return data_rows(cur)
            finally:
                cur.close()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: j.created_at, reverse=True)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop the worker after the running job (queued ones are dropped) and join it.

        A worker thread that ended cleanly also releases its OpenMP pool, which would
        otherwise abort the interpreter at exit.
        """
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._stopping = True
        self._queue.put(None)
        thread.join(timeout)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, run = item
            if self._stopping:
                job.status = "cancelled"
                continue
            job.status = "running"
            job.started_at = datetime.now()
            try:
                with self.gate.write():
                    job.result = run(self.settings)
                job.status = "succeeded"
            except InsightloopError as exc:
                job.status = "failed"
                job.error = {"code": type(exc).__name__, "message": str(exc)}
            except Exception as exc:  # a job must never kill the worker
                job.status = "failed"
                job.error = {"code": type(exc).__name__, "message": "unexpected error; see log"}
                # The type only at INFO and above: messages and tracebacks can quote data.
                log.error("job %s (%s) failed: unexpected %s", job.id, job.kind,
                          type(exc).__name__)
                log.debug("job %s traceback", job.id, exc_info=True)
            job.finished_at = datetime.now()
            log.info("job %s %s kind=%s", job.id, job.status, job.kind)
            self.on_done(job)
