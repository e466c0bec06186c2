"""build_recommendations / RecommendationServer / basket_rules on the bundled sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.errors import NotFoundError
from insightloop.services.recommend import (
    RECOMMENDATION_COLUMNS,
    basket_rules,
    build_recommendations,
    embed_texts,
    load_recommender,
)
from insightloop.settings import Settings
from insightloop.storage.warehouse import Warehouse


@pytest.fixture(scope="module")
def built(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[Settings, dict]:  # type: ignore[type-arg]
    folder = tmp_path_factory.mktemp("rec")
    path = folder / "warehouse.duckdb"
    shutil.copy(sample_warehouse, path)
    with Warehouse(path).transaction() as con:  # a customer with no orders: cold start
        con.execute("INSERT INTO customers (customer_id) VALUES ('NEW-1'), ('EV-1')")
        # a customer known only from behaviour events (views and a cart, no purchase)
        con.execute("INSERT INTO events (event_id, customer_id, event_type, product_id, "
                    "event_time) VALUES ('e1', 'EV-1', 'view', '85123A', '2011-12-01'), "
                    "('e2', 'EV-1', 'view', '22423', '2011-12-01'), "
                    "('e3', 'EV-1', 'cart', '47566', '2011-12-02'), "
                    "('e4', 'EV-1', 'login', NULL, '2011-12-02')")
    settings = Settings(warehouse=path, models_dir=folder / "models")
    summary = build_recommendations(ctx_of(settings), model="ease", n=5, embedder="tfidf")
    return settings, summary


def test_table_for_every_customer_without_seen_items(built: tuple[Settings, dict]) -> None:  # type: ignore[type-arg]
    settings, summary = built
    wh = Warehouse(settings.warehouse)
    recs = wh.table("recommendations")
    assert tuple(recs.columns) == RECOMMENDATION_COLUMNS
    buyers = wh.query("SELECT count(DISTINCT customer_id) AS n FROM orders WHERE quantity > 0 "
                      "AND customer_id IS NOT NULL AND status <> 'cancelled'")["n"].iloc[0]
    assert summary["modelled_customers"] == buyers + 1  # + EV-1 (events only)
    assert recs["customer_id"].nunique() == buyers + 2 == summary["customers"]
    assert recs.groupby("customer_id")["rank"].apply(list).map(lambda r: r == [1, 2, 3, 4, 5]
                                                                ).all()
    overlap = wh.query("SELECT count(*) AS n FROM recommendations r JOIN orders o ON "
                       "r.customer_id = o.customer_id AND r.product_id = o.product_id "
                       "WHERE o.quantity > 0 AND o.status <> 'cancelled'")["n"].iloc[0]
    assert overlap == 0
    new = recs[recs["customer_id"] == "NEW-1"]
    assert (new["model"] == "popularity").all() and summary["cold_start_customers"] == 1
    assert recs.loc[recs["customer_id"] != "NEW-1", "model"].eq("ease").all()
    assert recs["reason"].str.startswith("because you bought").mean() > 0.8


def test_events_only_customer_gets_model_recommendations(built: tuple[Settings, dict]  # type: ignore[type-arg]
                                                         ) -> None:
    settings, _ = built
    server = load_recommender(ctx_of(settings))
    out = server.recommend("EV-1", n=5)
    assert out["source"] == "model" and len(out["items"]) == 5
    u = server.model.interactions_.user_index()["EV-1"]
    assert server.model.seen_[u].nnz == 3 and server.purchased[u].nnz == 0  # views stay open
    reasons = [i["reason"] for i in out["items"]]
    assert not any(r.startswith("because you bought") for r in reasons)
    assert any(r.startswith("because you looked at") for r in reasons)
    bought = server.recommend("17850", n=5)
    assert all(not r["reason"].startswith("because you looked") for r in bought["items"])


def test_server_matches_table(built: tuple[Settings, dict]) -> None:  # type: ignore[type-arg]
    settings, _ = built
    server = load_recommender(ctx_of(settings))
    recs = Warehouse(settings.warehouse).table("recommendations")
    one = recs[recs["customer_id"] == "17850"].sort_values("rank")
    out = server.recommend("17850", n=5)
    assert out["source"] == "model" and out["model"] == "ease"
    assert [i["product_id"] for i in out["items"]] == one["product_id"].tolist()
    assert all(i["reason"] and i["description"] for i in out["items"])
    assert server.recommend("17850", n=5, exclude_seen=False)["items"] != out["items"]


def test_cold_start_popularity_and_content(built: tuple[Settings, dict]) -> None:  # type: ignore[type-arg]
    server = load_recommender(ctx_of(built[0]))
    pop = server.recommend("never-seen", n=3)
    assert pop["source"] == "cold_start:popularity" and len(pop["items"]) == 3
    content = server.recommend("never-seen", n=3, history=["85123A"])
    assert content["source"] == "cold_start:content"
    assert "85123A" not in [i["product_id"] for i in content["items"]]
    assert any("HEART" in i["description"] for i in content["items"])


def test_similar_items_and_unknown_product(built: tuple[Settings, dict]) -> None:  # type: ignore[type-arg]
    server = load_recommender(ctx_of(built[0]))
    sim = server.similar_items("85123A", n=5)
    assert len(sim["items"]) == 5 and "85123A" not in [i["product_id"] for i in sim["items"]]
    assert sim["items"][0]["score"] >= sim["items"][-1]["score"]
    with pytest.raises(NotFoundError, match="unknown product"):
        server.similar_items("NOPE")


def test_no_model_yet(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="run `insightloop recommend build`"):
        load_recommender(ctx_of(Settings(warehouse=tmp_path / "w.duckdb",
                                         models_dir=tmp_path / "m")))


def test_out_of_stock_products_are_never_recommended(sample_warehouse: Path,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, path)
    settings = Settings(warehouse=path, models_dir=tmp_path / "models")
    with Warehouse(path).transaction() as con:
        con.execute("ALTER TABLE products ADD COLUMN in_stock BOOLEAN")
        con.execute("INSERT INTO products (product_id, in_stock) VALUES ('85123A', false), "
                    "('22423', false)")
    summary = build_recommendations(ctx_of(settings), model="popularity", n=10, embedder="none")
    recs = Warehouse(path).table("recommendations")
    assert summary["excluded_out_of_stock"] == 2
    assert not recs["product_id"].isin(["85123A", "22423"]).any()
    assert load_recommender(ctx_of(settings)).recommend("nobody", 3)["items"][0]["product_id"] \
        not in ("85123A", "22423")


def test_auto_build_reports_selection(sample_warehouse: Path, tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, path)
    settings = Settings(warehouse=path, models_dir=tmp_path / "models")
    steps: list[tuple[str, int, int]] = []
    summary = build_recommendations(ctx_of(settings), model="auto", n=3, embedder="none",
                                    max_per_category=2,
                                    on_step=lambda m, done, total: steps.append((m, done, total)))
    # every step counted against one total (a bar with an ETA): the trials, fit, ranking
    done = [d for _, d, _ in steps]
    assert done == list(range(len(steps)))
    assert len({t for _, _, t in steps}) == 1 and steps[-1][2] >= len(steps)
    assert sum(m.startswith("validating") for m, _, _ in steps) == len(summary["selection"])
    assert steps[-1][0].startswith("writing")
    scores = {(t["model"], str(t["params"])): t["ndcg@10"] for t in summary["selection"]}
    assert summary["model"] in {m for m, _ in scores}
    assert max(scores.values()) == pytest.approx(
        max(v for (m, _), v in scores.items() if m == summary["model"]))
    assert summary["model"] != "popularity"


def test_basket_rules_match_sql_counts(built: tuple[Settings, dict]) -> None:  # type: ignore[type-arg]
    settings, _ = built
    out = basket_rules(ctx_of(settings), min_support=0.01, min_confidence=0.3, max_rules=5)
    top = out["rules"][0]
    wh = Warehouse(settings.warehouse)
    counts = wh.query(
        "WITH b AS (SELECT DISTINCT order_id, product_id FROM orders WHERE quantity > 0 AND "
        "status <> 'cancelled') SELECT (SELECT count(DISTINCT order_id) FROM b) AS n, "
        "(SELECT count(*) FROM b WHERE product_id = ?) AS a, "
        "(SELECT count(*) FROM b x JOIN b y USING (order_id) WHERE x.product_id = ? AND "
        "y.product_id = ?) AS ab, (SELECT count(*) FROM b WHERE product_id = ?) AS c",
        [top["antecedent"], top["antecedent"], top["consequent"], top["consequent"]]).iloc[0]
    assert out["baskets"] == counts["n"]
    assert top["support"] == pytest.approx(counts["ab"] / counts["n"])
    assert top["confidence"] == pytest.approx(counts["ab"] / counts["a"])
    assert top["lift"] == pytest.approx(counts["ab"] / counts["a"] / (counts["c"] / counts["n"]))
    assert [r["lift"] for r in out["rules"]] == sorted((r["lift"] for r in out["rules"]),
                                                       reverse=True)


def test_use_embeddings_are_cached_and_multilingual(tmp_path: Path) -> None:
    texts = ["red ceramic tea cup", "rote Teetasse aus Keramik", "garden hose 20 m"]
    first = embed_texts(texts, "use", tmp_path)
    assert first.shape == (3, 512) and (tmp_path / "use-embeddings.npz").exists()
    again = embed_texts(texts, "use", tmp_path)
    assert (again == first).all()
    sims = first @ first.T
    assert sims[0, 1] > sims[0, 2]  # the German cup is closer than the hose
    assert pd.Series(sims.diagonal()).round(5).eq(1).all()


def test_loaded_once_per_build(sample_warehouse: Path, tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, path)
    settings = Settings(warehouse=path, models_dir=tmp_path / "models")
    build_recommendations(ctx_of(settings), model="popularity", n=3, embedder="none")
    first = load_recommender(ctx_of(settings))
    assert load_recommender(ctx_of(settings)) is first
    build_recommendations(ctx_of(settings), model="itemknn", n=3, embedder="none")
    second = load_recommender(ctx_of(settings))
    assert second is not first and second.label == "itemknn"


def test_empty_warehouse_says_what_to_do(tmp_path: Path) -> None:
    from insightloop.errors import WarehouseError

    settings = Settings(warehouse=tmp_path / "w.duckdb", models_dir=tmp_path / "m")
    Warehouse(settings.warehouse).write_frame("customers", pd.DataFrame({"customer_id": ["a"]}),
                                              replace=False)
    with pytest.raises(WarehouseError, match="ingest orders or events"):
        build_recommendations(ctx_of(settings), embedder="none")


def test_category_cap_per_customer(sample_warehouse: Path, tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, path)
    settings = Settings(warehouse=path, models_dir=tmp_path / "models")
    with Warehouse(path).transaction() as con:  # three categories over the catalogue
        con.execute("INSERT INTO products (product_id, category) SELECT DISTINCT product_id, "
                    "'cat' || (hash(product_id) % 3)::VARCHAR FROM orders "
                    "WHERE product_id NOT IN (SELECT product_id FROM products)")
    sql = ("SELECT r.customer_id, count(DISTINCT p.category) AS cats "
           "FROM recommendations r JOIN products p USING (product_id) GROUP BY ALL")
    build_recommendations(ctx_of(settings), model="itemknn", n=3, embedder="none")
    free = Warehouse(path).query(sql)["cats"]
    build_recommendations(ctx_of(settings), model="itemknn", n=3, embedder="none",
                          max_per_category=1)
    capped = Warehouse(path).query(sql)["cats"]
    # best effort: when the top 9 candidates miss a category (about 3 * (2/3) ** 9 = 8 % of
    # customers with random categories) the cap cannot be met
    assert (capped == 3).mean() > 0.9 and (capped == 3).mean() > (free == 3).mean() + 0.3


def test_model_saved_with_an_older_layout_asks_for_a_rebuild(sample_warehouse: Path,
                                                              tmp_path: Path) -> None:
    from insightloop.services.recommend import MODEL_NAME
    from insightloop.services.registry import save_model

    path = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, path)
    settings = Settings(warehouse=path, models_dir=tmp_path / "models")
    build_recommendations(ctx_of(settings), model="popularity", n=3, embedder="none")
    server = load_recommender(ctx_of(settings))
    server.format = server.FORMAT - 1  # what an artifact of the previous release carries
    save_model(settings, MODEL_NAME, server, {"task": "recommend"})
    with pytest.raises(NotFoundError, match=r"older layout.*recommend build"):
        load_recommender(ctx_of(settings))
