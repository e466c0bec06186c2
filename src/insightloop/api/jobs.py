"""Background jobs (ingest, builds, training) run one at a time inside the server process.

A job takes the warehouse gate exclusively while it runs (see
:mod:`insightloop.api.state`), so the server stays the only writer. Jobs live in
memory: their history is lost when the server stops.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from insightloop.api.state import WarehouseGate
from insightloop.errors import ConfigError, InsightloopError
from insightloop.services.records import plain
from insightloop.settings import Settings

log = logging.getLogger("insightloop.api.jobs")
JOB_KINDS = ("ingest", "profiles", "clv", "segments", "cohorts", "train", "score",
             "recommendations", "sentiment", "topics", "demo")
INGEST_TABLES = ("customers", "products", "orders", "events", "reviews", "campaigns", "sends",
                 "consents")
TRAIN_TASKS = ("churn", "propensity", "response")
MAX_HISTORY = 200


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


def _ingest(params: dict[str, Any], root: Path | None) -> Callable[[Settings], Any]:
    """Validate an ingest job now; the returned callable loads the file."""
    from insightloop.storage.ingest import ingest_file
    from insightloop.storage.warehouse import Warehouse

    if root is None:
        raise ConfigError("ingest jobs are off: start the server with --ingest-root FOLDER")
    table = str(params.get("table", ""))
    if table not in INGEST_TABLES:
        raise ConfigError(f"params.table must be one of {INGEST_TABLES}")
    base = root.resolve()
    path = (base / str(params.get("path", ""))).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise ConfigError("params.path must name a file inside the ingest root")
    preset = params.get("preset")
    return lambda s: ingest_file(Warehouse.from_settings(s), table, path,
                                 preset=str(preset) if preset else None).as_dict()


def _runner(kind: str, params: dict[str, Any], root: Path | None
            ) -> Callable[[Settings], Any]:
    """The callable for a job (validated here, before the job is queued)."""
    if kind == "ingest":
        return _ingest(params, root)
    if kind == "profiles":
        from insightloop.services.profiles import build_profiles
        return build_profiles
    if kind == "clv":
        from insightloop.services.clv import build_clv
        from insightloop.storage.warehouse import Warehouse
        return lambda s: build_clv(Warehouse.from_settings(s))
    if kind == "segments":
        from insightloop.services.segments import build_segments
        return build_segments
    if kind == "cohorts":
        from insightloop.services.cohorts import build_cohorts
        return build_cohorts
    if kind == "train":
        from insightloop.services.training import train_task
        task = str(params.get("task", "churn"))
        if task not in TRAIN_TASKS:
            raise ConfigError(f"params.task must be one of {TRAIN_TASKS}")
        horizon = params.get("horizon_days", 90)
        if not isinstance(horizon, int) or not 1 <= horizon <= 3650:
            raise ConfigError("params.horizon_days must be an integer in 1..3650")
        return lambda s: _brief(train_task(s, task, horizon_days=horizon))
    if kind == "score":
        from insightloop.services.scoring import score_warehouse
        model = str(params.get("model", "churn"))
        return lambda s: score_warehouse(s, model)
    if kind == "recommendations":
        from insightloop.services import recommend
        embedder = str(params.get("embedder", "tfidf"))
        if embedder not in ("tfidf", "use", "e5"):
            raise ConfigError("params.embedder must be one of ('tfidf', 'use', 'e5')")
        algo = str(params.get("model", "auto"))
        return lambda s: recommend.build_recommendations(s, model=algo, embedder=embedder)
    if kind == "sentiment":
        from insightloop.services import sentiment
        return lambda s: sentiment.score_reviews(s)
    if kind == "topics":
        from insightloop.services import sentiment as topics
        return lambda s: topics.discover_topics(s)
    if kind == "demo":
        from insightloop.services.demo import run_demo
        return lambda s: run_demo(s).steps
    raise ConfigError(f"kind must be one of {JOB_KINDS}, got {kind!r}")


def _brief(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in ("name", "version", "model", "metrics", "rows") if k in meta}


class JobRunner:
    """A queue of jobs and the single worker thread that runs them."""

    def __init__(self, settings: Settings, gate: WarehouseGate, ingest_root: Path | None,
                 on_done: Callable[[Job], None]) -> None:
        self.settings = settings
        self.gate = gate
        self.ingest_root = ingest_root
        self.on_done = on_done
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Job, Callable[[Settings], Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def submit(self, kind: str, params: dict[str, Any], key_id: str) -> Job:
        run = _runner(kind, params, self.ingest_root)
        job = Job(id=uuid.uuid4().hex, kind=kind, params=params, key_id=key_id)
        with self._lock:
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
                log.exception("job %s (%s) failed", job.id, job.kind)
            job.finished_at = datetime.now()
            log.info("job %s %s kind=%s", job.id, job.status, job.kind)
            self.on_done(job)
