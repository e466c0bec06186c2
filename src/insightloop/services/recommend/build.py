"""`insightloop recommend build`: fit on the warehouse, rank every customer, register it."""

from __future__ import annotations

import time
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insightloop.errors import ConfigError
from insightloop.features.interactions import Interactions, interactions_from_frame
from insightloop.models.recommend import make_recommender
from insightloop.models.recommend.content import ContentRecommender
from insightloop.models.recommend.neighbours import ItemKNN
from insightloop.models.recommend.rules import diversify
from insightloop.models.recommend.selection import (
    Selection,
    select_model,
)
from insightloop.services.context import Context
from insightloop.services.recommend.data import (
    Progress,
    StepProgress,
    Steps,
    auto_trials,
    load_catalogue,
    load_interactions,
)
from insightloop.services.recommend.embedding import EMBEDDERS, embed_texts
from insightloop.services.recommend.serving import MODEL_NAME, RecommendationServer
from insightloop.services.results import RecommendationsBuilt
from insightloop.storage.lake import is_lake
from insightloop.storage.warehouse import has_table, write_frame

RECOMMENDATION_COLUMNS = ("customer_id", "rank", "product_id", "score", "reason", "model")
def _step_count(model: str, embedder: str) -> int:
    """Steps ``build_recommendations`` announces (the validation trials at most)."""
    return 4 + (embedder != "none") + (model == "auto") + auto_trials(model, embedder != "none")


def build_recommendations(ctx: Context, model: str = "auto", n: int = 10,
                          on_progress: Progress | None = None, embedder: str = "use",
                          weights: dict[str, float] | None = None,
                          half_life_days: float | None = None,
                          max_per_category: int | None = None, seed: int = 42,
                          on_step: StepProgress | None = None) -> RecommendationsBuilt:
    """Fit on the warehouse, write table ``recommendations`` and register the server.

    Parameters
    ----------
    model : str
        ``auto`` (model and parameters chosen on a validation split), or a model name
        (``popularity``, ``itemknn``, ``rp3beta``, ``sar``, ``ease``, ``als``, ``bpr``, ``content``,
        ``hybrid``).
    n : int
        Recommendations per customer.
    embedder : {"use", "tfidf", "none"}
        Product text embeddings for the content model and cold start.
    weights, half_life_days
        Interaction weights by kind and exponential time decay
        (:func:`insightloop.features.interactions.warehouse_interactions_sql`).
    max_per_category : int, optional
        Category diversity: at most this many products of one category per customer.
    on_progress, on_step
        Called with each step's message; ``on_step`` also with the steps done and their
        total (for a progress bar with an ETA).
    """
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    if embedder not in EMBEDDERS:
        raise ConfigError(f"embedder must be one of {list(EMBEDDERS)}, got {embedder!r}")
    if ctx.engine.is_spark and is_lake(ctx.settings.warehouse):
        if model not in ("auto", "sar"):
            raise ConfigError(f"on Spark over a lake the recommender is SAR-style item-item "
                              f"(--model auto or sar), not {model!r}")
        # lazy: pyspark (the optional [spark] extra) only for engine 'spark' over a lake
        from insightloop.services.spark import recommend as spark_recommend

        say = Steps(on_progress, on_step, 1)
        say("item-item similarity and top products per customer on the cluster")
        return cast(RecommendationsBuilt, spark_recommend.build_recommendations(ctx, n))
    say = Steps(on_progress, on_step, _step_count(model, embedder))
    started = time.perf_counter()
    say("reading interactions")
    frame = load_interactions(ctx, weights, half_life_days)
    catalogue = load_catalogue(ctx)
    item_space = np.union1d(frame["item"].astype(str).unique(),
                            catalogue["product_id"].dropna().astype(str).unique())
    inter = _interactions_on(frame, item_space)
    purchased = inter.restrict(frame.loc[frame["purchased"].fillna(False).astype(bool),
                                         ["user", "item"]]).matrix
    catalogue = (catalogue.set_index("product_id").reindex(item_space).rename_axis("product_id")
                 .reset_index())
    vectors = None
    if embedder != "none":
        say(f"embedding {len(item_space):,} product texts ({embedder})")
        texts = catalogue["description"].fillna(catalogue["product_id"]).astype(str).tolist()
        vectors = pd.DataFrame(embed_texts(texts, embedder, ctx.models.root / "cache"),
                               index=pd.Index(item_space))
    selection: Selection | None = None
    if model == "auto":
        say("choosing the model on a validation split")
        selection = select_model(frame[["user", "item", "weight"]], seed=seed,
                                 item_vectors=vectors, on_progress=say)
        rec = selection.make(vectors)
        label = selection.name
    else:
        params: dict[str, Any] = {"item_vectors": vectors} if model in ("content",
                                                                         "hybrid") else {}
        rec = make_recommender(model, **params)
        label = model
    say(f"fitting {label} on {inter.nnz:,} interactions")
    rec.fit(inter)
    neighbours = ItemKNN(similarity="cosine", neighbours=100).fit(inter)
    content = ContentRecommender(vectors).fit(inter) if vectors is not None else None
    exclude = np.flatnonzero(catalogue["in_stock"].eq(False).fillna(False).to_numpy(dtype=bool))
    server = RecommendationServer(rec, neighbours, content, catalogue, exclude, label, purchased)
    say(f"ranking products for {inter.n_users:,} customers")
    table = _all_customers(server, n, catalogue, max_per_category)
    cold = _cold_customers(ctx, inter, server, n)
    if len(cold):
        table = pd.concat([table, cold], ignore_index=True)
    say(f"writing {len(table):,} recommendations")
    with ctx.warehouse.transaction() as con:
        write_frame(con, "recommendations", table.loc[:, list(RECOMMENDATION_COLUMNS)])
    meta = ctx.models.save(MODEL_NAME, server, {
        "task": "recommend", "model": label, "params": rec.params,
        "metrics": {"validation": selection.score if selection else None,
                    "metric": selection.metric if selection else None},
        "selection": selection.trials if selection else [],
        "users": inter.n_users, "items": inter.n_items, "interactions": inter.nnz,
        "embedder": embedder,
    })
    shown = table.loc[table["model"] == label, "product_id"].nunique()
    return {"model": label, "params": rec.params,
            "customers": int(table["customer_id"].nunique()), "modelled_customers": inter.n_users,
            "cold_start_customers": int(cold["customer_id"].nunique()) if len(cold) else 0,
            "items": inter.n_items, "interactions": inter.nnz, "rows": len(table),
            "coverage": round(shown / max(inter.n_items, 1), 4),
            "excluded_out_of_stock": len(exclude), "version": meta["version"],
            "selection": selection.trials if selection else [],
            "seconds": round(time.perf_counter() - started, 2)}


def _interactions_on(frame: pd.DataFrame, item_space: np.ndarray) -> Interactions:
    inter = interactions_from_frame(frame, weight="weight")
    cols = pd.Index(item_space).get_indexer(pd.Index(inter.item_ids))
    coo = inter.matrix.tocoo()
    mat = sp.csr_matrix((coo.data, (coo.row, cols[coo.col])),
                        shape=(inter.n_users, len(item_space)), dtype=np.float32)
    return Interactions(mat, inter.user_ids, np.asarray(item_space, dtype=object))


def _all_customers(server: RecommendationServer, n: int, catalogue: pd.DataFrame,
                   max_per_category: int | None) -> pd.DataFrame:
    model = server.model
    users = np.arange(model.interactions_.n_users)
    width = n * 3 if max_per_category else n
    idx, val = model.recommend_idx(users, width, True, server.exclude, server.purchased)
    if max_per_category:
        codes = pd.factorize(catalogue["category"])[0]
        idx, val = diversify(idx, val, codes, n, max_per_category)
    reasons = np.empty(idx.shape, dtype=object)
    step = 2000  # explanation triples (history x slots) stay bounded per block of customers
    for start in range(0, len(users), step):
        block = slice(start, start + step)
        reasons[block] = server.reasons(server.purchased[block], model.seen_[block], idx[block],
                                        "model")
    ok = idx >= 0
    return pd.DataFrame({
        "customer_id": np.repeat(model.interactions_.user_ids, idx.shape[1])[ok.ravel()],
        "rank": np.tile(np.arange(1, idx.shape[1] + 1), len(users))[ok.ravel()].astype(np.int32),
        "product_id": model.interactions_.item_ids[idx[ok]],
        "score": val[ok].astype(np.float64), "reason": reasons[ok],
        "model": server.label,
    })


def _cold_customers(ctx: Context, inter: Interactions, server: RecommendationServer,
                    n: int) -> pd.DataFrame:
    wh = ctx.warehouse
    with wh.connect(read_only=wh.exists) as con:
        if not has_table(con, "customers"):
            return pd.DataFrame(columns=list(RECOMMENDATION_COLUMNS))
        ids = con.execute("SELECT customer_id FROM customers ORDER BY customer_id").df()
    new = ids.loc[~ids["customer_id"].astype(str).isin(inter.user_index()), "customer_id"]
    if new.empty:
        return pd.DataFrame(columns=list(RECOMMENDATION_COLUMNS))
    one = server.recommend("\x00unknown", n)
    top = pd.DataFrame(one["items"])
    return pd.DataFrame({
        "customer_id": np.repeat(new.astype(str).to_numpy(), len(top)),
        "rank": np.tile(np.arange(1, len(top) + 1, dtype=np.int32), len(new)),
        "product_id": np.tile(top["product_id"].to_numpy(), len(new)),
        "score": np.tile(top["score"].to_numpy(dtype=np.float64), len(new)),
        "reason": "popular with all customers (new customer, cold start)",
        "model": "popularity",
    })
