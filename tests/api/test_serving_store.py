"""The serving store answers the hot endpoints exactly as the live path does.

Two servers over one copy of the demo warehouse: ``live`` started before the store existed
(so it answers from DuckDB and the loaded recommender), ``store`` started after
``build_store`` (so it answers from the SQLite store). Every customer's profile, scores and
recommendations must come back byte-identical; parameters the store cannot answer go live.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from contexts import ctx_of
from insightloop.api.config import ServeConfig
from insightloop.api.routers import customers as customers_router
from insightloop.services.serving import build_store, store_path, store_status
from serving_helpers import Api, client_for, copy_warehouse, make_keys


@pytest.fixture(scope="module")
def pair(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Api, Api]]:
    settings = copy_warehouse(demo_warehouse, tmp_path_factory.mktemp("serving") / "wh")
    keys = make_keys(settings)
    store_path(ctx_of(settings)).unlink(missing_ok=True)
    with client_for(settings) as live_client:
        assert live_client.app.state.server.store.get() is None  # type: ignore[attr-defined]
        build_store(ctx_of(settings))
        with client_for(settings) as store_client:
            assert store_client.app.state.server.store.get() is not None  # type: ignore
            yield Api(live_client, settings, keys), Api(store_client, settings, keys)


def _ids(api: Api) -> list[str]:
    with duckdb.connect(str(api.settings.warehouse), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT customer_id FROM profiles ORDER BY 1")
                .fetchall()]


def _same(live: Api, store: Api, url: str) -> Any:
    a, b = live.get(url), store.get(url)
    assert (a.status_code, a.content) == (b.status_code, b.content), url
    assert a.headers["content-type"] == b.headers["content-type"]
    return b


@pytest.mark.slow
def test_every_customer_identical(pair: tuple[Api, Api], monkeypatch: pytest.MonkeyPatch
                                  ) -> None:
    live, store = pair
    ids = _ids(live)
    assert len(ids) > 300
    for cid in ids:
        for url in (f"/api/v1/customers/{cid}", f"/api/v1/customers/{cid}/scores",
                    f"/api/v1/customers/{cid}/recommendations",
                    f"/api/v1/customers/{cid}/recommendations?n=50",
                    f"/api/v1/customers/{cid}/segment"):
            assert _same(live, store, url).status_code == 200


def test_store_answers_without_the_warehouse(pair: tuple[Api, Api],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Hits never touch DuckDB or the recommender: break both and the store still answers."""
    live, store = pair
    cid = _ids(live)[5]
    expected = {u: live.get(u).content for u in (
        f"/api/v1/customers/{cid}", f"/api/v1/customers/{cid}/scores",
        f"/api/v1/customers/{cid}/recommendations?n=7")}

    def broken(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the live path was used")

    srv = store.client.app.state.server  # type: ignore[attr-defined]
    monkeypatch.setattr(customers_router, "customer_profile", broken)
    monkeypatch.setattr(srv, "recommender", broken)
    monkeypatch.setattr(srv, "loaded_recommender", broken)
    for url, body in expected.items():
        r = store.get(url)
        assert r.status_code == 200 and r.content == body
        assert r.headers["x-content-type-options"] == "nosniff"


def test_cold_start_and_fallbacks(pair: tuple[Api, Api]) -> None:
    live, store = pair
    cid = _ids(live)[0]
    product = live.get(f"/api/v1/customers/{cid}/recommendations").json()["items"][0]
    for url in (
        "/api/v1/customers/no-such-customer/recommendations?n=5",   # popularity, from store
        "/api/v1/customers/no-such-customer/recommendations?n=5&exclude_seen=false",
        f"/api/v1/customers/no-such-customer/recommendations?history={product['product_id']}",
        f"/api/v1/customers/{cid}/recommendations?n=80",             # more than stored: live
        f"/api/v1/customers/{cid}/recommendations?exclude_seen=false",
        f"/api/v1/customers/{cid}/recommendations?history={product['product_id']}",
        f"/api/v1/customers/{cid}.0",                                 # id normalised
        "/api/v1/customers/no-such-customer",                         # 404 from the live path
        "/api/v1/customers/no-such-customer/scores",
        "/api/v1/customers/no-such-customer/segment",
    ):
        _same(live, store, url)
    assert store.get("/api/v1/customers/no-such-customer").status_code == 404
    hist = store.get("/api/v1/customers/no-such-customer/recommendations?history="
                     + product["product_id"]).json()
    assert hist["source"] == "cold_start:content"
    r = store.get(f"/api/v1/customers/{cid}/scores?live=true")
    assert r.status_code == 200 and r.json()["customer_id"] == cid


def test_job_rebuilds_a_stale_store(demo_warehouse: Path, tmp_path: Path) -> None:
    """A job that changes stored scores leaves a fresh store serving the new values."""
    settings = copy_warehouse(demo_warehouse, tmp_path / "wh")
    keys = make_keys(settings)
    build_store(ctx_of(settings))
    with client_for(settings) as client:
        api = Api(client, settings, keys)
        srv = client.app.state.server  # type: ignore[attr-defined]
        before = srv.store.get()
        assert before is not None
        cid = _ids(api)[0]
        old = api.get(f"/api/v1/customers/{cid}/scores").json()["scores"][0]["scored_at"]
        job = api.post("/api/v1/jobs", role="write", json={"kind": "score"}).json()
        assert api.wait_job(job["id"])["status"] == "succeeded"
        deadline = time.monotonic() + 120
        while (after := srv.store.get()) is None or after is before:
            # After the write and until the store is rebuilt, answers come from the live path.
            assert time.monotonic() < deadline, "the store was not rebuilt after the job"
            time.sleep(0.05)
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            row = con.execute("SELECT strftime(scored_at, '%Y-%m-%dT%H:%M:%S') FROM scores "
                              "WHERE customer_id = ? AND model = 'churn'", [cid]).fetchone()
        assert row is not None
        new = api.get(f"/api/v1/customers/{cid}/scores").json()["scores"][0]["scored_at"]
        assert new == row[0] and store_status(ctx_of(settings))["fresh"]
        assert old <= new


def test_worker_state_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from insightloop.api.workers import ENV, state_env
    from insightloop.asgi import app_from_env
    from insightloop.errors import ConfigError
    from insightloop.settings import Settings

    settings = Settings.load(warehouse=tmp_path / "w" / "warehouse.duckdb", env={})
    config = ServeConfig(rate_per_s=7.0, cors_origins=("https://a.example",),
                         ingest_root=tmp_path, workers=3)
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(ConfigError, match="--workers"):
        app_from_env()
    monkeypatch.setenv(ENV, state_env(settings, config)[ENV])
    srv = app_from_env().state.server
    assert srv.settings == settings and srv.config == config


def test_store_is_read_into_memory_once_per_file(pair: tuple[Api, Api],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Lookups run on the event loop: the server reads a newly opened store file into the page
    cache in the background (a cold page on a virtual disk held a worker up to 0.5 s at a
    million customers), once per file, and every connection maps the file."""
    from insightloop.storage import serving as serving_storage

    _, store = pair
    holder = store.client.app.state.server.store  # type: ignore[attr-defined]
    opened = holder.get()
    path = Path(opened.path)
    assert holder._warmed == f"{path}:{opened.stat}"
    assert serving_storage.warm_file(path) == path.stat().st_size
    assert opened._con().execute("PRAGMA mmap_size").fetchone()[0] > 0
    reads: list[Path] = []
    monkeypatch.setattr(serving_storage, "warm_file", lambda p, *a: reads.append(p) or 0)
    holder._warm_in_background(opened)  # the same file again: not read twice
    holder._warm_in_background(serving_storage.ServingStore(path))  # same inode: not read
    assert reads == []


def test_a_store_larger_than_memory_is_logged(pair: tuple[Api, Api],
                                              monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    from insightloop.api import store as store_module
    from insightloop.storage import serving as serving_storage

    assert (serving_storage.memory_available() or 1) > 0
    _, store = pair
    holder = store.client.app.state.server.store  # type: ignore[attr-defined]
    opened = serving_storage.ServingStore(Path(holder.get().path))
    monkeypatch.setattr(store_module, "memory_available", lambda: opened.stat[1] // 2)
    holder._warmed = None
    with caplog.at_level("WARNING", logger="insightloop.api.store"):
        holder._warm_in_background(opened)
    assert "larger than the memory available" in caplog.text
