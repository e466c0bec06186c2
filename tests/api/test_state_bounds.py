"""Process-wide state stays bounded: the byte-bounded LRU cache, failed-auth buckets,
sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from insightloop.api.state import Cache, Sessions, SharedBuckets, WarehouseGate, approx_bytes
from insightloop.settings import Settings
from insightloop.storage.operational import OpsStore, open_ops


def gate() -> WarehouseGate:
    return WarehouseGate(Settings.load(warehouse=Path("/nonexistent/w.duckdb"), env={}), 1.0)


def test_approx_bytes_counts_what_containers_hold() -> None:
    text = "x" * 10_000
    assert approx_bytes(text) >= 10_000
    assert approx_bytes({"a": [text, text]}) >= 20_000
    frame = pd.DataFrame({"s": ["y" * 100] * 1000, "v": np.arange(1000)})
    assert approx_bytes(frame) >= 100_000 + 8_000
    assert approx_bytes(np.zeros(50_000)) >= 400_000
    assert approx_bytes([{"rows": [frame]}]) >= approx_bytes(frame)


def test_cache_stays_under_its_byte_bound_and_evicts_least_recently_used() -> None:
    bound = 200_000
    cache = Cache(gate(), max_bytes=bound)
    computed: list[str] = []

    def value(name: str) -> str:
        computed.append(name)
        return "v" * 10_000

    for i in range(500):
        cache.get(f"page:{i}", lambda i=i: value(f"page:{i}"))  # type: ignore[misc]
        cache.get("page:0", lambda: value("page:0"))  # kept warm: never evicted
        assert cache.bytes <= bound
    assert 10 <= len(cache) < 25
    assert computed.count("page:0") == 1
    before = len(computed)
    cache.get("page:499", lambda: value("again"))
    cache.get("page:1", lambda: value("page:1"))
    assert computed[before:] == ["page:1"]  # 499 was cached, 1 was evicted long ago


def test_cache_keeps_no_value_larger_than_the_bound_and_is_keyed_by_generation() -> None:
    g = gate()
    cache = Cache(g, max_bytes=50_000)
    big = cache.get("big", lambda: "b" * 100_000)
    assert len(big) == 100_000 and len(cache) == 0 and cache.bytes == 0
    assert cache.get("small", lambda: 1) == 1
    g.generation += 1
    assert cache.get("small", lambda: 2) == 2  # recomputed after a write
    assert len(cache) == 1 and 0 < cache.bytes <= 50_000
    cache.clear()
    assert len(cache) == 0 and cache.bytes == 0


def ops_store(tmp_path: Path) -> OpsStore:
    return open_ops(Settings.load(warehouse=tmp_path / "w.duckdb", env={}))


def test_failed_auth_buckets_forget_only_refilled_names(tmp_path: Path) -> None:
    store = ops_store(tmp_path)
    idle = SharedBuckets(store, "idle", rate=1e9, burst=2)  # refill at once
    for i in range(1500):
        idle.take(f"198.51.100.{i}")
    assert len(idle) < 1000  # pruned now and then (about one new name in 64)
    slow = SharedBuckets(store, "slow", rate=1e-6, burst=1)  # never refills here
    before = len(slow)
    assert slow.take("attacker") == 0.0
    for i in range(300):
        slow.take(f"client-{i}")
    assert len(slow) - before == 301  # pruning "slow" deletes none: none has refilled
    assert slow.take("attacker") > 0  # drained buckets are kept: nobody gets a fresh one


def test_sessions_are_bounded_oldest_first(tmp_path: Path) -> None:
    sessions = Sessions(ops_store(tmp_path), hours=1.0, max_sessions=50)
    tokens = [sessions.create(f"key{i}") for i in range(200)]
    assert len(sessions) == 50
    assert sessions.key_id(tokens[0]) is None and sessions.key_id(tokens[-1]) == "key199"


def test_shared_buckets_lease_tokens_and_never_exceed_the_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes' buckets on one store: tokens are leased ten at a time (one store
    write per ten requests, not per request), and together they grant exactly the burst.

    The clock is frozen (no refill) and the background top-ups run right after each
    request, so the count does not depend on how fast the machine is."""
    from types import SimpleNamespace

    from insightloop.api import state
    from insightloop.storage.operational import access

    store = ops_store(tmp_path)
    writes = []
    real = access.take_tokens

    def counted(*args: object, **kwargs: object) -> tuple[int, float]:
        writes.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    pending: list[tuple[Any, tuple[Any, ...]]] = []

    class Later:  # the background thread, run when the request has returned
        def submit(self, fn: Any, *args: Any) -> None:
            pending.append((fn, args))

    monkeypatch.setattr(access, "take_tokens", counted)
    monkeypatch.setattr(access, "time", SimpleNamespace(time=lambda: 1_000.0))
    monkeypatch.setattr(state, "time", SimpleNamespace(monotonic=lambda: 1_000.0))
    a = SharedBuckets(store, "key", rate=100.0, burst=80)
    b = SharedBuckets(store, "key", rate=100.0, burst=80)
    for bucket in (a, b):
        monkeypatch.setattr(bucket, "_executor", Later)
    assert a.lease == 10
    allowed = 0
    for i in range(400):
        allowed += (a if i % 2 else b).take("k1") == 0.0
        while pending:
            fn, args = pending.pop()
            fn(*args)
    assert allowed == 80  # the burst, all of it, and not one more
    # leased hits and remembered refusals need no store write: 400 requests cost about one
    # write per lease of ten (and its top-up), plus the refusals that empty it
    assert len(writes) <= 20
    assert a.take("k1") > 0.0  # refused, with the wait until a token refills
    exact = SharedBuckets(store, "auth", rate=1.0, burst=20)
    assert exact.lease == 1  # small limits stay exact


def test_shared_buckets_top_up_a_low_lease_in_the_background(tmp_path: Path) -> None:
    """The request path touches the store only when it holds no token: a lease running
    low is refilled by the background thread first."""
    store = ops_store(tmp_path)
    bucket = SharedBuckets(store, "key", rate=1000.0, burst=800)
    assert bucket.lease == 64
    import time as _time

    start = _time.time()
    assert bucket.take("k") == 0.0  # the one synchronous lease: 64 tokens, 63 left here
    for _ in range(50):  # 13 left: under a quarter, a refill is queued
        assert bucket.take("k") == 0.0
    bucket._executor().submit(lambda: None).result()  # the refill has run
    refilled = 1000.0 * (_time.time() - start)  # what the bucket regained meanwhile
    tokens, _ = bucket._leased["k"]
    assert tokens == 13 + 64
    with store.read() as conn:
        from sqlalchemy import text

        left = conn.execute(text("SELECT tokens FROM rate_limits WHERE name = 'key:k'")).scalar()
    assert left is not None and float(left) <= 800 - 128 + refilled  # both leases left it
