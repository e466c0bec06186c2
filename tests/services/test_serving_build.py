"""Building the serving store: same bytes as the live path, freshness, atomic replacement."""

from __future__ import annotations

import json
import shutil
from contextlib import nullcontext
from pathlib import Path

import duckdb
import pytest

from contexts import ctx_of
from insightloop.cli.main import main
from insightloop.services import serving
from insightloop.services.customers import customer_profile
from insightloop.services.records import plain
from insightloop.services.serving import (
    build_store,
    ensure_store,
    open_store,
    split_reasons,
    store_path,
    store_status,
)
from insightloop.settings import Settings
from insightloop.storage.serving import ServingStore, dumps, read_meta


def _copy(warehouse: Path, target: Path) -> Settings:
    shutil.copytree(warehouse.parent, target)
    return Settings.load(warehouse=target / warehouse.name, env={})


def _ids(settings: Settings) -> list[str]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT customer_id FROM profiles ORDER BY 1")
                .fetchall()]


@pytest.fixture(scope="module")
def knn(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The sample warehouse with an item-kNN recommender (sparse: ranked blockwise)."""
    from insightloop.services.recommend import build_recommendations

    settings = _copy(sample_warehouse, tmp_path_factory.mktemp("knn") / "wh")
    build_recommendations(ctx_of(settings), model="itemknn", embedder="none")
    return settings


@pytest.mark.slow
def test_profiles_and_blockwise_recommendations_identical(knn: Settings) -> None:
    from insightloop.services.recommend import load_recommender

    out = build_store(ctx_of(knn), top_n=20)
    assert out["ranking"] == "blockwise" and out["top_n"] == 20
    store = open_store(ctx_of(knn))
    assert store is not None and store.has_profiles and store.has_recs
    rec = load_recommender(ctx_of(knn))
    ids = _ids(knn)
    assert out["customers"] == len(ids) > 100
    with duckdb.connect(str(knn.warehouse), read_only=True) as con:
        reads = ctx_of(knn).with_reader(lambda: nullcontext(con))  # one open connection
        for cid in ids:
            live = customer_profile(reads, cid)
            assert store.profile(cid) == dumps(live)
            scores = [{**s, "reasons": split_reasons(s.get("reasons"))}
                      for s in live.get("scores") or []]
            assert store.scores(cid) == dumps({"customer_id": cid, "scores": scores})
            assert store.recommendations(cid, 20) == dumps(plain(rec.recommend(cid, n=20)))
        for cid in ids[::25]:
            for n in (1, 10):
                assert store.recommendations(cid, n) == dumps(plain(rec.recommend(cid, n=n)))
    assert store.recommendations(ids[0], 21) is None          # more than stored: live
    assert store.recommendations(ids[0], 5, exclude_seen=False) is None
    assert store.recommendations("nobody", 5, history=True) is None
    assert store.recommendations("nobody", 5) == dumps(plain(rec.recommend("nobody", n=5)))
    assert store.profile("nobody") is None and store.scores("nobody") is None


def test_without_recommender_only_profiles(sample_warehouse: Path, tmp_path: Path) -> None:
    settings = _copy(sample_warehouse, tmp_path / "wh")
    out = build_store(ctx_of(settings))
    assert out["recommended_customers"] == 0 and out["ranking"] is None
    store = open_store(ctx_of(settings))
    assert store is not None and store.has_profiles and not store.has_recs
    cid = _ids(settings)[3]
    assert store.recommendations(cid, 10) is None
    assert json.loads(store.profile(cid) or b"{}")["customer_id"] == cid


def test_stale_detection_and_atomic_rebuild(knn: Settings, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _copy(knn.warehouse, tmp_path / "wh")
    build_store(ctx_of(settings), top_n=5)
    path = store_path(ctx_of(settings))
    before = read_meta(path)
    assert before is not None and store_status(ctx_of(settings))["fresh"]
    cid = _ids(settings)[0]
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("UPDATE profiles SET country = 'Atlantis' WHERE customer_id = ?", [cid])
    assert not store_status(ctx_of(settings))["fresh"] and open_store(ctx_of(settings)) is None

    def broken(*_a: object, **_k: object) -> object:
        yield [(cid, b"x", b"x")]
        raise RuntimeError("disk full")

    monkeypatch.setattr(serving, "_profile_batches", broken)
    with pytest.raises(RuntimeError):
        build_store(ctx_of(settings), top_n=5)
    assert read_meta(path) == before  # the old store is untouched
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
    monkeypatch.undo()
    orphan = path.with_name(f".{path.name}.999999999.tmp")  # a build killed by SIGKILL
    orphan.write_bytes(b"half a store")
    assert ensure_store(ctx_of(settings), top_n=5)["built"] is True
    assert not orphan.exists()
    assert ensure_store(ctx_of(settings), top_n=5)["built"] is False
    store = ServingStore(path)
    assert json.loads(store.profile(cid) or b"{}")["country"] == "Atlantis"


def test_cli_build_and_status(knn: Settings, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    settings = _copy(knn.warehouse, tmp_path / "wh")
    wh = str(settings.warehouse)
    store_path(ctx_of(settings)).unlink(missing_ok=True)
    assert main(["serving", "status", "--warehouse", wh, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["exists"] is False
    assert main(["serving", "build", "--top-n", "3", "--warehouse", wh, "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["top_n"] == 3 and built["customers"] == len(_ids(settings))
    assert main(["serving", "status", "--warehouse", wh, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["fresh"] is True and status["customers"] == built["customers"]
    assert main(["serving", "build", "--top-n", "0", "--warehouse", wh]) == 2
    missing = str(tmp_path / "none" / "warehouse.duckdb")
    assert main(["serving", "build", "--warehouse", missing]) == 1
    assert "does not exist" in capsys.readouterr().err
