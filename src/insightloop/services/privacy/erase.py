"""``privacy erase``: one customer removed from everything insightloop holds, proven.

An erasure is a request row in the operational store (``erasure_requests``) and a fixed
sequence of steps, each recorded in the row when done, so a crash half-way resumes where
it stopped and a second request for the same id only verifies:

1. ``warehouse``: the customer's rows deleted from every declared table with a customer
   column (order lines anonymised), quarantine rows holding them deleted, their id, e-mail
   and name masked in other rows' free text (:mod:`.warehouse`);
2. ``ops``: the operational store (:mod:`.ops`);
3. ``models``: model versions holding per-customer state retired (:mod:`.files`);
4. ``files``: the serving store removed, every other file holding them removed, then
   ``rebuild`` run (the CLI's writes the HTML report and the serving store again when
   they existed);
5. ``rewrite``: the warehouse copied into a new file and the SQLite store vacuumed.

Then the request forgets the subject (it keeps ``sha256(salt + id)`` only), the erasure
goes into the audit log without the erased values, and :func:`verify` searches every
table, the operational store and every file, and asks the API's profile look-up.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

import insightloop.services.privacy.files as files
import insightloop.services.privacy.ops as ops
import insightloop.services.privacy.warehouse as wh
from insightloop.errors import ConfigError, InsightloopError, NotFoundError, WarehouseError
from insightloop.services.context import Context
from insightloop.services.customers import customer_profile
from insightloop.services.privacy.protect import decrypt_column
from insightloop.services.privacy.subject import Subject
from insightloop.services.results.privacy import ErasureResult, Verification
from insightloop.storage.ids import normalize_id
from insightloop.storage.operational import audit, open_ops
from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.privacy_models import ErasureRequest

STEPS = ("warehouse", "ops", "models", "files", "rewrite")
Rebuild = Callable[[Context], object]


def _hash(salt: str, customer_id: str) -> str:
    return hashlib.sha256((salt + "\x00" + customer_id).encode("utf-8")).hexdigest()


def _find(store: OpsStore, customer_id: str) -> dict[str, Any] | None:
    """The newest request for ``customer_id`` (matched by its salted hash), or None."""
    with store.read() as conn:
        rows = conn.execute(select(
            ErasureRequest.id, ErasureRequest.salt, ErasureRequest.subject_hash,
            ErasureRequest.status, ErasureRequest.steps, ErasureRequest.subject,
            ErasureRequest.result).order_by(ErasureRequest.created_at.desc())).mappings().all()
    for row in rows:
        if row["subject_hash"] == _hash(row["salt"], customer_id):
            return {"id": row["id"], "status": row["status"], "steps": list(row["steps"]),
                    "subject": row["subject"], "result": dict(row["result"] or {})}
    return None


def _save(store: OpsStore, request: str, **values: Any) -> None:
    with store.write() as conn:
        conn.execute(update(ErasureRequest).where(ErasureRequest.id == request).values(**values))


def erase_customer(ctx: Context, customer_id: str, *, actor: str = "cli",
                   rebuild: Rebuild | None = None) -> ErasureResult:
    """Erase ``customer_id`` (see the module); returns what each step did and the proof.

    Raises
    ------
    ConfigError
        An empty id.
    WarehouseError
        The warehouse is missing, read-only or held by another process (nothing changed).
    """
    started = time.perf_counter()
    cid = normalize_id(str(customer_id))
    if not cid:
        raise ConfigError("the customer id to erase is empty; pass the id as ingested")
    if ctx.warehouse.read_only:
        raise WarehouseError(f"warehouse {ctx.settings.warehouse} is read-only here "
                             "(INSIGHTLOOP_READ_ONLY=1 or read_only in the settings); run the "
                             "erasure where the warehouse may be written")
    store = open_ops(ctx.settings)
    found = _find(store, cid)
    if found is not None and found["status"] == "done":
        proof = verify(ctx, Subject(cid), store)
        audit.record(store, actor, "privacy.erase", "customer",
                     {"request": found["id"], "already_erased": True, "clean": proof["clean"]})
        return _result(found["id"], found["result"], STEPS, proof, already=True,
                       resumed=False, seconds=time.perf_counter() - started)
    resumed = found is not None
    if found is None:
        with ctx.warehouse.connect(read_only=True) as con:
            found_in = wh.collect_subject(con, cid)
        subject = Subject(cid, tuple(decrypt_column(ctx.settings, list(found_in.emails))),
                          tuple(decrypt_column(ctx.settings, list(found_in.names))))
        request, salt = secrets.token_hex(16), secrets.token_hex(16)
        with store.write() as conn:
            conn.execute(insert(ErasureRequest).values(
                id=request, salt=salt, subject_hash=_hash(salt, cid), status="running",
                steps=[], subject=subject.as_json(), result={}, actor=actor[:64],
                created_at=datetime.now(), finished_at=None))
        done: list[str] = []
        result: dict[str, Any] = {}
    else:
        assert found is not None
        request, done, result = found["id"], found["steps"], found["result"]
        subject = Subject.from_json(found["subject"] or {"customer_id": cid})
    for step in STEPS:
        if step in done:
            continue
        began = time.perf_counter()
        result.update(_run(step, ctx, store, subject, rebuild))
        result.setdefault("step_seconds", {})[step] = round(time.perf_counter() - began, 2)
        done.append(step)
        _save(store, request, steps=list(done), result=dict(result))
    _save(store, request, status="done", subject=None, finished_at=datetime.now())
    audit.record(store, actor, "privacy.erase", "customer",
                 {"request": request, "resumed": resumed,
                  "tables": sorted(result.get("warehouse", {}).get("deleted", {}))})
    ops.compact(store)
    began = time.perf_counter()
    proof = verify(ctx, subject, store)
    result.setdefault("step_seconds", {})["verify"] = round(time.perf_counter() - began, 2)
    return _result(request, result, tuple(done), proof, already=False, resumed=resumed,
                   seconds=time.perf_counter() - started)


def _run(step: str, ctx: Context, store: OpsStore, subject: Subject,
         rebuild: Rebuild | None) -> dict[str, Any]:
    if step == "warehouse":
        return {"warehouse": wh.erase_rows(ctx, subject)}
    if step == "ops":
        return {"ops": ops.erase_ops(store, subject)}
    if step == "models":
        return {"models_retired": files.retire_models(ctx, subject)}
    if step == "files":
        serving = files.remove_serving(ctx)
        keep = _databases(ctx)
        removed = files.remove_files(ctx, subject, keep)
        if rebuild is not None:
            rebuild(ctx)
        return {"serving": serving, "files_removed": removed}
    size = wh.rewrite_warehouse(ctx)
    ops.compact(store)
    return {"rewritten_bytes": size}


def _databases(ctx: Context) -> tuple[Any, ...]:
    """The files the ``rewrite`` step rewrites (not removed by ``files``)."""
    path = ctx.settings.warehouse.absolute()
    stem = path.with_name(path.stem)
    return (path, path.with_name(path.name + ".wal"),
            *(stem.with_name(stem.name + ".ops.sqlite" + s) for s in ("", "-wal", "-shm")))


def verify(ctx: Context, subject: Subject, store: OpsStore | None = None) -> Verification:
    """Search every table, the operational store and every file for the subject, and ask
    the API's profile look-up for the customer (a 404 when it is gone)."""
    store = store or open_ops(ctx.settings)
    tables = wh.search_tables(ctx, subject)
    in_ops = ops.search_ops(store, subject)
    in_files = files.search_files(ctx, subject)
    try:
        customer_profile(ctx, subject.customer_id)
        api_404 = False
    except NotFoundError:
        api_404 = True
    except InsightloopError:
        api_404 = True  # no profiles table: nothing to serve either
    searched = ["customer_id", *(["email"] if subject.emails else []),
                *(["name"] if subject.names else [])]
    return {"tables": tables, "ops": in_ops, "files": in_files, "api_404": api_404,
            "searched": searched, "clean": not (tables or in_ops or in_files) and api_404}


def _result(request: str, result: dict[str, Any], steps: tuple[str, ...] | list[str],
            proof: Verification, *, already: bool, resumed: bool,
            seconds: float) -> ErasureResult:
    return {"request": request, "status": "done", "already_erased": already,
            "resumed": resumed, "steps": list(steps),
            "warehouse": result.get("warehouse", {}), "ops": result.get("ops", {}),
            "models_retired": result.get("models_retired", []),
            "serving": result.get("serving", "absent"),
            "files_removed": result.get("files_removed", []),
            "rewritten_bytes": int(result.get("rewritten_bytes", 0)),
            "verification": proof, "step_seconds": result.get("step_seconds", {}),
            "seconds": round(seconds, 2)}
