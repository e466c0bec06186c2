"""Job rows in the operational store: any process queues, exactly one runs.

Jobs run one at a time across all server processes (the warehouse has one writer).
:func:`claim_next` picks the oldest queued job only when none is running, in one write
transaction (``BEGIN IMMEDIATE`` on SQLite; an advisory lock on PostgreSQL, where the
row is also taken ``FOR UPDATE SKIP LOCKED``), so two workers never run jobs together.
The running process updates the job's ``heartbeat``; :func:`reap` marks a running job
whose process is gone (its pid, on this host) or silent (no heartbeat for ``stale_s``)
as failed with error ``interrupted``. Finishing or reaping a job bumps the warehouse
generation counter, which tells every process that the warehouse changed.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from insightloop.storage.operational.access import bump, counter
from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.models import Job

GENERATION = "warehouse_generation"
FIELDS = ("id", "kind", "params", "status", "key_id", "created_at", "started_at",
          "finished_at", "result", "error", "progress", "attempt", "worker", "pid",
          "heartbeat")
INTERRUPTED = {"code": "interrupted",
               "message": "the server process running this job stopped before it finished; "
                          "start the job again"}
_LOCK = "insightloop-jobs"


def worker_name() -> str:
    """This process as a job's ``worker``: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def _row(found: Any) -> dict[str, Any]:
    return dict(zip(FIELDS, found, strict=True))


def _columns() -> list[Any]:
    return [getattr(Job, f) for f in FIELDS]


def add_job(store: OpsStore, job: dict[str, Any], max_queued: int, history: int) -> int | None:
    """Queue ``job``; None (nothing stored) when ``max_queued`` jobs already wait, else how
    many waited. Finished jobs beyond the newest ``history`` are forgotten."""
    with store.write(lock=_LOCK) as conn:
        waiting = int(conn.execute(select(func.count()).select_from(Job)
                                   .where(Job.status == "queued")).scalar() or 0)
        if waiting >= max_queued:
            return None
        conn.execute(insert(Job).values(**job))
        keep = select(Job.id).where(Job.finished_at.is_not(None)).order_by(
            Job.created_at.desc()).limit(history).scalar_subquery()
        conn.execute(delete(Job).where(Job.finished_at.is_not(None), Job.id.not_in(keep)))
    return waiting


def get_job(store: OpsStore, job_id: str) -> dict[str, Any] | None:
    with store.read() as conn:
        found = conn.execute(select(*_columns()).where(Job.id == job_id)).first()
    return None if found is None else _row(found)


def list_jobs(store: OpsStore, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` jobs, newest first."""
    with store.read() as conn:
        return [_row(r) for r in conn.execute(
            select(*_columns()).order_by(Job.created_at.desc(), Job.id).limit(limit))]


def unfinished(store: OpsStore) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(Job).where(
            Job.status.in_(("queued", "running")))).scalar() or 0)


def claim_next(store: OpsStore, worker: str) -> dict[str, Any] | None:
    """Mark the oldest queued job running by ``worker`` and return it; None when a job is
    already running somewhere or none waits."""
    with store.write(lock=_LOCK) as conn:
        if conn.execute(select(Job.id).where(Job.status == "running").limit(1)).first():
            return None
        pick = select(Job.id).where(Job.status == "queued").order_by(
            Job.created_at, Job.id).limit(1)
        if store.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        job_id = conn.execute(pick).scalar()
        if job_id is None:
            return None
        done = conn.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(
            status="running", started_at=datetime.now(), worker=worker, pid=os.getpid(),
            heartbeat=time.time(), attempt=Job.attempt + 1)).rowcount
        if not done:
            return None
        found = conn.execute(select(*_columns()).where(Job.id == job_id)).first()
    return None if found is None else _row(found)


def beat(store: OpsStore, job_id: str, worker: str, progress: str | None = None) -> bool:
    """Record that ``worker`` still runs ``job_id`` (False: the job is no longer its own)."""
    values: dict[str, Any] = {"heartbeat": time.time()}
    if progress is not None:
        values["progress"] = progress[:200]
    with store.write() as conn:
        return bool(conn.execute(update(Job).where(
            Job.id == job_id, Job.worker == worker, Job.status == "running").values(**values)
        ).rowcount)


def finish(store: OpsStore, job_id: str, worker: str, status: str, result: Any,
           error: dict[str, str] | None) -> None:
    """Record the outcome of a job this worker ran, and bump the warehouse generation."""
    with store.write() as conn:
        conn.execute(update(Job).where(Job.id == job_id, Job.worker == worker).values(
            status=status, result=result, error=error, finished_at=datetime.now(),
            heartbeat=time.time()))
        bump(conn, GENERATION)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _gone(worker: str | None, pid: int | None, host: str, alive: Callable[[int], bool]) -> bool:
    return bool(worker and pid and worker.split(":", 1)[0] == host and not alive(pid))


def reap(store: OpsStore, stale_s: float, now: float | None = None,
         alive: Callable[[int], bool] = pid_alive) -> list[str]:
    """Mark running jobs whose process is gone or silent as failed (``interrupted``)."""
    now = time.time() if now is None else now
    host = socket.gethostname()
    with store.read() as conn:
        running = conn.execute(select(Job.id, Job.worker, Job.pid, Job.heartbeat)
                               .where(Job.status == "running")).all()
    dead = [r.id for r in running
            if (r.heartbeat or 0) < now - stale_s or _gone(r.worker, r.pid, host, alive)]
    if not dead:
        return []
    with store.write(lock=_LOCK) as conn:
        conn.execute(update(Job).where(Job.id.in_(dead), Job.status == "running").values(
            status="failed", error=INTERRUPTED, finished_at=datetime.now()))
        bump(conn, GENERATION)
    return dead


def generation(conn: Connection) -> int:
    return counter(conn, GENERATION)


def running(conn: Connection) -> tuple[str, str] | None:
    """``(job id, worker)`` of the running job (None: nobody writes the warehouse)."""
    found = conn.execute(select(Job.id, Job.worker).where(Job.status == "running")
                         .limit(1)).first()
    return None if found is None else (str(found[0]), str(found[1]))


def queued(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(Job)
                            .where(Job.status == "queued")).scalar() or 0)
