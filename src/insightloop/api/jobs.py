"""Background jobs (ingest, builds, training), run one at a time by the server processes.

The kinds, their typed parameters and what each runs are declared by the capabilities
(:mod:`insightloop.capabilities`; see :mod:`insightloop.api.job_params`): a job runs
``resolve(job.run)(ctx, **params)`` with this runner's context.

Jobs and their history live in the operational store (:mod:`insightloop.storage.operational`),
so every worker process accepts and answers for them and they survive a restart: a job
whose process died while it ran is shown as failed with error ``interrupted``; queued
jobs run after the restart. A job takes the warehouse gate exclusively while it runs (see
:mod:`insightloop.api.state`), so the server stays the only writer.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from insightloop.api.errors import ApiError
from insightloop.api.job_params import DEMO, kinds, prepare, public, validate_params
from insightloop.api.state import WarehouseGate
from insightloop.errors import InsightloopError
from insightloop.services.context import Context
from insightloop.services.demo import NOT_EMPTY, data_rows
from insightloop.services.records import plain
from insightloop.settings import Settings
from insightloop.storage.operational import OpsStore
from insightloop.storage.operational import jobs as ops_jobs
from insightloop.storage.operational import keys as ops_keys
from insightloop.storage.operational.handoff import wait_for_readers

__all__ = ["Job", "JobRunner", "kinds", "validate_params"]
log = logging.getLogger("insightloop.api.jobs")
MAX_HISTORY = 200
POLL_S = 0.5  # how often each process looks at the store (jobs, writes elsewhere, keys)
BEAT_S = 2.0  # heartbeat of a running job
#: seconds between the runner's looks for due campaign schedules and held sends (the job
#: ``campaign_tick`` is queued when there are some); unset or 0: cron runs the tick
TICK_ENV = "INSIGHTLOOP_CAMPAIGN_TICK_S"
STALE_S = 30.0  # a running job silent this long is interrupted
HANDOFF_S = 60.0  # how long a job waits for the other processes to close the warehouse


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

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        return cls(**{f: row[f] for f in ("id", "kind", "params", "key_id", "status",
                                           "created_at", "started_at", "finished_at",
                                           "result", "error")})

    def row(self) -> dict[str, Any]:
        """The job as a new row of the operational store."""
        return {"id": self.id, "kind": self.kind, "params": self.params,
                "status": self.status, "key_id": self.key_id, "created_at": self.created_at,
                "attempt": 0}

    def public(self) -> dict[str, Any]:
        return plain({"id": self.id, "kind": self.kind, "params": self.params,
                      "status": self.status, "created_at": self.created_at,
                      "started_at": self.started_at, "finished_at": self.finished_at,
                      "result": self.result, "error": self.error})


def _seconds(text: str) -> float:
    """``INSIGHTLOOP_CAMPAIGN_TICK_S`` as seconds; 0 (off) when unset or not a number."""
    try:
        value = float(text or 0)
    except ValueError:
        log.warning("%s=%r is not a number of seconds; the server will not tick campaigns",
                    TICK_ENV, text[:40])
        return 0.0
    return value if value > 0 else 0.0


class JobRunner:
    """Jobs in the operational store, run one at a time across every server process.

    Any process queues a job (a row, ``queued``); each process's runner thread polls the
    store every ``poll_s`` seconds (one small read) and claims the oldest queued job when
    none runs anywhere (:func:`~insightloop.storage.operational.jobs.claim_next`). While a
    job runs in *another* process, this one holds its warehouse gate for writing (its
    read-only anchor closed, reads held back or answered from the serving store), then
    reopens it when the job ends. The process running a job waits until no other process
    has the warehouse open, beats a heartbeat, and marks the job finished only after its
    own refresh (serving store, caches), so the others find everything current.
    """

    def __init__(self, settings: Settings, gate: WarehouseGate, ingest_root: Path | None,
                 on_done: Callable[[Job], None], max_queued: int = 16, *,
                 store: OpsStore, on_keys: Callable[[int], None] | None = None,
                 poll_s: float = POLL_S) -> None:
        self.settings = settings
        self.ctx = Context.from_settings(settings)
        self.gate = gate
        self.ingest_root = ingest_root
        self.on_done = on_done
        self.max_queued = max_queued
        self.store = store
        self.on_keys = on_keys
        self.poll_s = poll_s
        self.worker = ops_jobs.worker_name()
        self._seen_gen: int | None = None
        self._reaped_at = 0.0
        self._tick_s = _seconds(os.environ.get(TICK_ENV, ""))
        self._ticked_at = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Mark jobs whose process died as interrupted, then start the runner thread."""
        for job_id in ops_jobs.reap(self.store, STALE_S):
            log.warning("job %s was interrupted (its server process stopped)", job_id)
        with self.store.read() as conn:
            self._seen_gen = ops_jobs.generation(conn)
        self._thread = threading.Thread(target=self._work, name="insightloop-jobs",
                                        daemon=True)
        self._thread.start()

    def submit(self, kind: str, params: dict[str, Any], key_id: str) -> Job:
        """Queue a job after checking its parameters (:class:`ConfigError` -> 422), the
        queue bound (429) and, for ``demo``, that the warehouse is empty (409)."""
        typed = validate_params(kind, params)
        prepare(kind, typed, self.ingest_root, self.ctx)  # checks now, runs later
        if kind == DEMO.kind:
            if ops_jobs.unfinished(self.store):
                raise ApiError(409, "conflict", "the demo job runs alone on an empty "
                               "warehouse: wait for the queued and running jobs to finish")
            rows = self._data_rows()
            if rows:
                raise ApiError(409, "conflict", NOT_EMPTY.format(rows))
        job = Job(id=uuid.uuid4().hex, kind=kind, params=public(typed), key_id=key_id)
        waiting = ops_jobs.add_job(self.store, job.row(), self.max_queued, MAX_HISTORY)
        if waiting is None:
            raise ApiError(429, "queue_full", f"{self.max_queued} jobs are already waiting "
                           f"(at most {self.max_queued}); retry when one has finished",
                           {"Retry-After": "30"})
        self._wake.set()
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
        row = ops_jobs.get_job(self.store, job_id)
        return None if row is None else Job.from_row(row)

    def list(self) -> list[Job]:
        return [Job.from_row(r) for r in ops_jobs.list_jobs(self.store, MAX_HISTORY)]

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop the runner after the running job and join it (queued jobs stay queued for
        another process or the next start). A thread that ended cleanly also releases its
        OpenMP pool, which would otherwise abort the interpreter at exit."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except InsightloopError as exc:  # the store is unreachable: say so, try again
                log.warning("job runner: %s", exc)
            except Exception as exc:  # nothing may end the runner thread
                log.error("job runner: unexpected %s", type(exc).__name__)
                log.debug("job runner traceback", exc_info=True)
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _step(self) -> None:
        with self.store.read() as conn:
            running = ops_jobs.running(conn)
            gen = ops_jobs.generation(conn)
            keys = ops_keys.keys_version(conn)
            queued = ops_jobs.queued(conn)
        if self.on_keys is not None:
            self.on_keys(keys)
        if running is not None and running[1] != self.worker:
            self._follow(running[0], running[1])
            return
        if gen != self._seen_gen or self.gate.blocked:  # written elsewhere since we looked
            with self.gate.write():
                pass  # reopens the anchor, new generation
            self._seen_gen = gen
        if time.monotonic() - self._reaped_at > BEAT_S:
            self._reaped_at = time.monotonic()
            for job_id in ops_jobs.reap(self.store, STALE_S):
                log.warning("job %s was interrupted (its server process went silent)", job_id)
        if not queued and running is None:
            queued = self._campaign_tick()
        if queued and not self._stop.is_set():
            row = ops_jobs.claim_next(self.store, self.worker)
            if row is not None:
                self._run(Job.from_row(row))

    def _campaign_tick(self) -> int:
        """Queue ``campaign_tick`` every ``INSIGHTLOOP_CAMPAIGN_TICK_S`` seconds when a
        schedule or a held send is due; 1 when it queued one."""
        if self._tick_s <= 0 or time.monotonic() - self._ticked_at < self._tick_s:
            return 0
        self._ticked_at = time.monotonic()
        # lazy: the campaigns service loads the send-time model (scipy); server start stays light
        from insightloop.services.campaigns.schedules import due_work

        if not due_work(self.ctx):
            return 0
        self.submit("campaign_tick", {}, "scheduler")
        return 1

    def _follow(self, job_id: str, worker: str) -> None:
        """Keep the warehouse closed here while ``worker`` (another process) runs a job."""
        with self.gate.write():
            while not self._stop.is_set():
                with self.store.read() as conn:
                    running = ops_jobs.running(conn)
                if running is None or running[1] != worker:
                    break
                if ops_jobs.reap(self.store, STALE_S):
                    break
                self._stop.wait(self.poll_s)
        with self.store.read() as conn:
            self._seen_gen = ops_jobs.generation(conn)
        done = self.get(job_id)
        if done is not None:
            self.on_done(done)

    def _run(self, job: Job) -> None:
        beating = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job.id, beating),
                                name="insightloop-heartbeat", daemon=True)
        beat.start()
        log.info("job %s running kind=%s worker=%s", job.id, job.kind, self.worker)
        try:
            run = prepare(job.kind, validate_params(job.kind, job.params), self.ingest_root,
                          self.ctx)
            with self.gate.write():
                wait_for_readers(self.settings.warehouse, HANDOFF_S)
                job.result = plain(run(self.ctx))
            job.status = "succeeded"
        except InsightloopError as exc:
            job.status = "failed"
            job.error = {"code": type(exc).__name__, "message": str(exc)}
        except Exception as exc:  # a job must never kill the runner
            job.status = "failed"
            job.error = {"code": type(exc).__name__, "message": "unexpected error; see log"}
            # The type only at INFO and above: messages and tracebacks can quote data.
            log.error("job %s (%s) failed: unexpected %s", job.id, job.kind,
                      type(exc).__name__)
            log.debug("job %s traceback", job.id, exc_info=True)
        job.finished_at = datetime.now()
        try:
            self.on_done(job)  # refresh here first: the others find a current store
        finally:
            beating.set()
            beat.join(10)
            ops_jobs.finish(self.store, job.id, self.worker, job.status, job.result, job.error)
            with self.store.read() as conn:
                self._seen_gen = ops_jobs.generation(conn)
        log.info("job %s %s kind=%s", job.id, job.status, job.kind)

    def _beat(self, job_id: str, done: threading.Event) -> None:
        while not done.wait(BEAT_S):
            try:
                ops_jobs.beat(self.store, job_id, self.worker)
            except InsightloopError as exc:
                log.warning("job %s heartbeat: %s", job_id, exc)
