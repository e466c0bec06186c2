"""The operational store on SQLite and on a real PostgreSQL server: migrations, keys,
jobs claimed by exactly one worker, interrupted jobs, sessions, shared rate limits and the
campaign tables' guarantees."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from insightloop.errors import ConfigError, WarehouseError
from insightloop.storage.operational import access, jobs
from insightloop.storage.operational import keys as op_keys
from insightloop.storage.operational.engine import OpsStore, make_engine
from insightloop.storage.operational.models import Base, Job, SendLedger
from insightloop.storage.operational.schema import head_revision, upgrade
from ops_helpers import ops_url_for


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpsStore]:
    ops = OpsStore(ops_url_for(request.param, tmp_path))
    upgrade(ops)
    yield ops
    ops.dispose()


def job_row(job_id: str, created: datetime | None = None) -> dict[str, Any]:
    return {"id": job_id, "kind": "profiles", "params": {}, "status": "queued",
            "key_id": "k", "created_at": created or datetime.now(), "attempt": 0}


def test_migrations_build_exactly_the_models_and_run_once(store: OpsStore) -> None:
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        names = set(inspect(conn).get_table_names())
    assert {"api_keys", "jobs", "sessions", "rate_limits", "schedules", "send_ledger",
            "consents", "audit_log"} <= names
    again = upgrade(store)
    assert again.before == again.after == head_revision() and not again.migrated


def test_a_store_from_a_newer_release_is_refused(store: OpsStore) -> None:
    with store.write() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(WarehouseError, match=r"newer release made it.*upgrade insightloop"):
        upgrade(store)


def test_bad_urls_say_what_to_use() -> None:
    with pytest.raises(ConfigError, match="not a database URL"):
        make_engine("not a url")
    with pytest.raises(ConfigError, match="SQLite or PostgreSQL"):
        make_engine("mysql://u@h/db")


def test_sqlite_store_runs_in_wal_mode(tmp_path: Path) -> None:
    ops = OpsStore(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    with ops.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15_000


def test_keys_round_trip_and_bump_the_version(store: OpsStore) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5)
    with store.read() as conn:
        v0 = op_keys.keys_version(conn)
    op_keys.insert_key(store, {"key_id": "a" * 12, "salt": "00", "key_hash": "h",
                               "role": "read", "name": "n", "created_at": now,
                               "revoked_at": None})
    assert op_keys.key_rows(store) == [("a" * 12, "00", "h", "read", "n", now, None)]
    assert op_keys.revoke(store, "a" * 12, now) and not op_keys.revoke(store, "b" * 12, now)
    assert op_keys.key_rows(store)[0][-1] == now
    with store.read() as conn:
        assert op_keys.keys_version(conn) == v0 + 2


def test_exactly_one_of_many_concurrent_claimers_runs_each_job(store: OpsStore) -> None:
    for i in range(3):
        assert jobs.add_job(store, job_row(f"j{i}", datetime(2026, 1, 1, 0, 0, i)), 16,
                            200) is not None
    claimed: list[tuple[str, str]] = []
    start = threading.Barrier(8)

    def claimer(n: int) -> None:
        start.wait()
        row = jobs.claim_next(store, f"host:{n}:w")
        if row is not None:
            claimed.append((row["id"], row["worker"]))

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 1 and claimed[0][0] == "j0"  # the oldest; none while it runs
    job_id, worker = claimed[0]
    assert jobs.claim_next(store, "other") is None
    with store.read() as conn:
        assert jobs.running(conn) == (job_id, worker) and jobs.queued(conn) == 2
        gen = jobs.generation(conn)
    jobs.finish(store, job_id, worker, "succeeded", {"rows": 3}, None)
    done = jobs.get_job(store, job_id)
    assert done is not None and done["status"] == "succeeded" and done["result"] == {"rows": 3}
    assert done["attempt"] == 1 and done["finished_at"] is not None
    with store.read() as conn:
        assert jobs.generation(conn) == gen + 1 and jobs.running(conn) is None
    nxt = jobs.claim_next(store, "other")
    assert nxt is not None and nxt["id"] == "j1"


def test_the_queue_is_bounded_and_history_kept(store: OpsStore) -> None:
    assert jobs.add_job(store, job_row("a"), 2, 200) == 0
    assert jobs.add_job(store, job_row("b"), 2, 200) == 1
    assert jobs.add_job(store, job_row("c"), 2, 200) is None
    assert [j["id"] for j in jobs.list_jobs(store, 10)] == ["b", "a"]
    assert jobs.unfinished(store) == 2


def test_jobs_of_dead_or_silent_processes_are_interrupted(store: OpsStore) -> None:
    host, now = socket.gethostname(), time.time()
    cases = {"dead": (999_999_999, now), "silent": (1, now - 120), "alive": (1, now)}
    with store.write() as conn:  # three running at once, as after a crash
        for name, (pid, beat) in cases.items():
            conn.execute(insert(Job).values(**{**job_row(name), "status": "running",
                                               "worker": f"{host}:{pid}:x", "pid": pid,
                                               "heartbeat": beat}))
    assert sorted(jobs.reap(store, stale_s=30)) == ["dead", "silent"]
    for name in ("dead", "silent"):
        row = jobs.get_job(store, name)
        assert row is not None and row["status"] == "failed"
        assert row["error"]["code"] == "interrupted"
    alive = jobs.get_job(store, "alive")
    assert alive is not None and alive["status"] == "running"
    assert jobs.reap(store, stale_s=30) == []


def test_sessions_hold_only_a_hash_and_expire(store: OpsStore) -> None:
    token = "secret-token-value"
    access.create_session(store, token, "k1", seconds=3600, max_sessions=10)
    access.create_session(store, "short", "k2", seconds=-1, max_sessions=10)
    assert access.session_key(store, token) == "k1"
    assert access.session_key(store, "short") is None  # expired
    assert access.session_key(store, "other") is None
    with store.read() as conn:
        stored = [tuple(r) for r in conn.execute(text("SELECT * FROM sessions"))]
    assert token not in repr(stored) and access.token_hash(token) in repr(stored)
    access.drop_session(store, token)
    assert access.session_key(store, token) is None


def test_rate_limit_buckets_are_shared_and_refill(store: OpsStore) -> None:
    t0 = 1_000_000.0
    assert [access.take_token(store, "key", "k", 1.0, 3, now=t0) for _ in range(3)] == [0.0] * 3
    wait = access.take_token(store, "key", "k", 1.0, 3, now=t0)
    assert wait == pytest.approx(1.0)
    other = OpsStore(store.url)  # another process's engine: the same bucket
    try:
        assert access.take_token(other, "key", "k", 1.0, 3, now=t0 + 0.5) == pytest.approx(0.5)
        assert access.take_token(other, "key", "k", 1.0, 3, now=t0 + 1.0) == 0.0
        assert access.take_token(other, "key", "x", 1.0, 3, now=t0 + 1.0) == 0.0  # its own
    finally:
        other.dispose()


def test_the_send_ledger_refuses_a_second_send(store: OpsStore) -> None:
    row = {"idempotency_key": "journey1:step2:c42", "campaign_id": "c", "step": "2",
           "customer_id": "c42", "channel": "email", "status": "claimed",
           "created_at": datetime.now()}
    with store.write() as conn:
        conn.execute(insert(SendLedger).values(**row))
    with pytest.raises(WarehouseError, match="operational store"), store.write() as conn:
        conn.execute(insert(SendLedger).values(**row))
    with store.read() as conn:
        assert len(conn.execute(select(SendLedger.id)).all()) == 1


def test_integrity_errors_are_reported_as_one_line(store: OpsStore) -> None:
    with pytest.raises(WarehouseError) as info, store.write() as conn:
        conn.execute(insert(Job).values(id="x"))  # required columns missing
    assert "\n" not in str(info.value) and isinstance(info.value.__cause__, IntegrityError)
