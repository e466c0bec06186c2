"""Recommendation use cases: evaluate on a file, build for every customer, serve one.

* :func:`evaluate_recommend_file` — ``insightloop evaluate recommend`` on any CSV/Parquet;
* :func:`build_recommendations` — fit on the warehouse (orders + events + ratings), write
  table ``recommendations`` (customer_id, rank, product_id, score, reason, model) for every
  customer, register the fitted server as model ``recommender``;
* :func:`load_recommender` / :class:`RecommendationServer` — single-customer calls in
  milliseconds from the registered factors / similarities, cold start through product text
  (``cold_start:content``) or popularity (``cold_start:popularity``);
* :func:`basket_rules` — market-basket association rules for cross-sell.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insightloop.errors import ConfigError, InputFileError, NotFoundError, WarehouseError
from insightloop.features.interactions import (
    Interactions,
    as_str_ids,
    interactions_from_frame,
    to_timestamps,
    warehouse_interactions_sql,
)
from insightloop.models.recommend import make_recommender
from insightloop.models.recommend.base import Recommender
from insightloop.models.recommend.content import ContentRecommender
from insightloop.models.recommend.neighbours import ItemKNN
from insightloop.models.recommend.rules import association_rules, diversify, explain
from insightloop.models.recommend.selection import Selection, holdout_metrics, select_model
from insightloop.models.recommend.split import split_interactions
from insightloop.models.recommend.topk import mask_rows, top_k
from insightloop.settings import Settings
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import Warehouse, has_table, write_frame

Progress = Callable[[str], None]
MODEL_NAME = "recommender"
EMBEDDERS = ("use", "tfidf", "none")
RECOMMENDATION_COLUMNS = ("customer_id", "rank", "product_id", "score", "reason", "model")
STOCK_COLUMNS = ("in_stock", "stock", "stock_quantity", "inventory", "available")


# -- evaluation on any file --------------------------------------------------------------
def read_interactions_file(path: Path | str) -> pd.DataFrame:
    """A CSV (delimiter sniffed) or Parquet file as a frame; clear errors naming the file."""
    from insightloop.services.evaluation import read_table_file

    p = Path(path)
    if p.is_file() and p.stat().st_size > 0 and p.suffix.lower() not in (".parquet", ".pq"):
        with p.open("rb") as fh:  # a header and at least one data line
            lines = 0
            for line in fh:
                lines += bool(line.strip())
                if lines >= 2:
                    break
        if lines < 2:
            raise InputFileError(f"interaction file {p} has no data rows (header only)")
    try:
        return read_table_file(p)
    except InputFileError as exc:
        raise InputFileError(f"interaction file {p}: {exc}") from exc


def evaluate_recommend_file(path: Path | str, user: str, item: str, time_col: str | None = None,
                            weight: str | None = None, split: str = "stratified",
                            test_ratio: float = 0.25, seed: int = 42, k: int = 10,
                            model: str = "auto", on_progress: Progress | None = None,
                            half_life_days: float | None = None) -> dict[str, Any]:
    """Hold-out ranking metrics of one model (or ``auto``) on an interaction file.

    Returns ``{"model", "users", "items", "precision@k", "recall@k", "ndcg@k", "map@k",
    "coverage", "fit_seconds"}``; ``fit_seconds`` includes the model search for ``auto``.
    """
    raw = read_interactions_file(path)
    cols = [str(c) for c in raw.columns]
    for name in (user, item, time_col, weight):
        if name is not None and name not in cols:
            raise InputFileError(f"column {name!r} is not in {path}; columns are {cols}")
    return evaluate_frame(raw, user, item, time_col, weight, split, test_ratio, seed, k, model,
                          on_progress, half_life_days=half_life_days)


def evaluate_frame(raw: pd.DataFrame, user: str, item: str, time_col: str | None = None,
                   weight: str | None = None, split: str = "stratified",
                   test_ratio: float = 0.25, seed: int = 42, k: int = 10, model: str = "auto",
                   on_progress: Progress | None = None, params: dict[str, Any] | None = None,
                   item_vectors: pd.DataFrame | None = None,
                   half_life_days: float | None = None) -> dict[str, Any]:
    """:func:`evaluate_recommend_file` on a frame already in memory.

    ``params`` go to a named model; ``item_vectors`` (item text embeddings, index = item id)
    enable ``content``/``hybrid`` and the hybrid candidates of ``auto``; ``half_life_days``
    decays weights by age (needs ``time_col``; relevance stays binary).
    """
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    if half_life_days is not None and time_col is None:
        raise ConfigError("--half-life-days needs --time")
    frame = long_frame(raw, user, item, time_col, weight, half_life_days)
    train, test = split_interactions(frame, split, test_ratio, seed)
    inter = interactions_from_frame(train, weight="weight")
    start = time.perf_counter()
    label = model
    if model == "auto":
        sel = select_model(train, split=split, test_ratio=test_ratio, k=k, seed=seed,
                           item_vectors=item_vectors, on_progress=on_progress)
        rec = sel.make(item_vectors)
        label = f"auto:{sel.name}" + (f"({_params_text(sel.params)})" if sel.params else "")
    else:
        extra = {"item_vectors": item_vectors} if model in ("content", "hybrid") else {}
        rec = make_recommender(model, **(params or {}), **extra)
        label = model + (f"({_params_text(params)})" if params else "")
    rec.fit(inter)
    fit_seconds = time.perf_counter() - start
    metrics = holdout_metrics(rec, inter, test, k)
    return {"model": label, "users": metrics["users"], "items": inter.n_items,
            **{key: metrics[key] for key in (f"precision@{k}", f"recall@{k}", f"ndcg@{k}",
                                             f"map@{k}", "coverage")},
            "fit_seconds": round(fit_seconds, 3)}


def long_frame(raw: pd.DataFrame, user: str, item: str, time_col: str | None = None,
               weight: str | None = None, half_life_days: float | None = None) -> pd.DataFrame:
    """Columns user, item, weight[, time] with duplicate pairs summed (ids as strings;
    ``time`` is the pair's latest time; weights decayed by age when ``half_life_days``)."""
    frame = interactions_from_frame(raw, user, item, weight, time_col if half_life_days else None,
                                    half_life_days).to_frame()
    if time_col is not None:
        times = pd.DataFrame({"user": as_str_ids(raw[user]), "item": as_str_ids(raw[item]),
                              "time": to_timestamps(raw[time_col])})
        last = times.groupby(["user", "item"], sort=False)["time"].max()
        frame["time"] = last.reindex(pd.MultiIndex.from_frame(frame[["user", "item"]])
                                     ).to_numpy()
    return frame


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


# -- reading the warehouse ---------------------------------------------------------------
def _nonempty_tables(con: Any, names: tuple[str, ...]) -> set[str]:
    out = set()
    for name in names:
        if has_table(con, name):
            row = con.execute(f"SELECT count(*) FROM {ident(name)}").fetchone()
            if row and row[0]:
                out.add(name)
    return out


def load_interactions(settings: Settings, weights: dict[str, float] | None = None,
                      half_life_days: float | None = None) -> pd.DataFrame:
    """Weighted (user, item, weight, time) pairs from orders, events and reviews."""
    wh = Warehouse.from_settings(settings)
    with wh.connect(read_only=wh.exists) as con:
        tables = _nonempty_tables(con, ("orders", "events", "reviews"))
        sql, params = warehouse_interactions_sql(tables, weights, half_life_days,
                                                 with_purchased=True)
        frame = con.execute(sql, params).df()
    if frame.empty:
        raise WarehouseError("no purchases, events or ratings with a customer and a product in "
                             f"{settings.warehouse}; ingest orders or events first")
    return frame.rename(columns={"customer_id": "user", "product_id": "item",
                                 "last_time": "time"})


def load_catalogue(settings: Settings) -> pd.DataFrame:
    """product_id, description, category, in_stock (bool or NULL) of every known product."""
    wh = Warehouse.from_settings(settings)
    with wh.connect(read_only=wh.exists) as con:
        parts = []
        if has_table(con, "orders"):
            parts.append("SELECT product_id, arg_max(description, n) AS description FROM "
                         "(SELECT product_id, description, count(*) AS n FROM orders WHERE "
                         "description IS NOT NULL GROUP BY ALL) GROUP BY product_id")
        described = parts[0] if parts else (
            "SELECT NULL::VARCHAR AS product_id, NULL::VARCHAR AS description WHERE false")
        stock = "NULL::BOOLEAN"
        if has_table(con, "products"):
            cols = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = "
                "'products'").fetchall()}
            found = [c for c in STOCK_COLUMNS if c in cols]
            if found:
                stock = f"(TRY_CAST(p.{ident(found[0])} AS DOUBLE) > 0)"
            prods = f"SELECT product_id, name, category, {stock} AS in_stock FROM products p"
        else:
            prods = ("SELECT NULL::VARCHAR AS product_id, NULL::VARCHAR AS name, "
                     "NULL::VARCHAR AS category, NULL::BOOLEAN AS in_stock WHERE false")
        sql = (f"WITH d AS ({described}), p AS ({prods}) "
               "SELECT coalesce(p.product_id, d.product_id) AS product_id, "
               "coalesce(nullif(trim(p.name), ''), trim(d.description)) AS description, "
               "p.category, p.in_stock FROM p FULL OUTER JOIN d USING (product_id) "
               "ORDER BY product_id")
        return con.execute(sql).df()


# -- item text embeddings ------------------------------------------------------------------
def embed_texts(texts: list[str], embedder: str = "use", cache_dir: Path | None = None
                ) -> np.ndarray:
    """Unit vectors for product texts: ``use`` (multilingual Universal Sentence Encoder,
    packaged weights, 512-d) cached per text under ``cache_dir``, or ``tfidf`` (word and
    character n-gram TF-IDF reduced to 128-d by SVD; fast, fitted on these texts)."""
    if embedder not in EMBEDDERS or embedder == "none":
        raise ConfigError(f"embedder must be one of {list(EMBEDDERS[:2])}, got {embedder!r}")
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    if embedder == "tfidf":
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        tf = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), min_df=1,
                             sublinear_tf=True).fit_transform([t.lower() for t in texts])
        dims = max(1, min(128, tf.shape[1] - 1, len(texts) - 1))
        vecs = TruncatedSVD(dims, random_state=0).fit_transform(tf) if dims > 1 else \
            tf.toarray()
        return _unit(np.asarray(vecs, dtype=np.float32))
    keys = np.array([hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts])
    cache: dict[str, np.ndarray] = {}
    path = cache_dir / "use-embeddings.npz" if cache_dir is not None else None
    if path is not None and path.exists():
        with np.load(path) as data:
            cache = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    missing = [i for i, k in enumerate(keys) if k not in cache]
    if missing:
        from insightloop.models.text_encoders import use_model

        new = np.asarray(use_model().encode([texts[i] for i in missing]), dtype=np.float32)
        cache.update(zip(keys[missing].tolist(), new, strict=True))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.array(list(cache)), vectors=np.stack(list(cache.values())))
            tmp.replace(path)
    return _unit(np.stack([cache[k] for k in keys]).astype(np.float32))


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


# -- the server -------------------------------------------------------------------------------
class RecommendationServer:
    """Everything needed to answer one customer in milliseconds (picklable).

    Holds the fitted model (its factors or item weights), the item-neighbour matrix used for
    explanations and similar items, the content model (cold start), product descriptions,
    the excluded (out-of-stock) items and each customer's purchases (``purchased``, users x
    items; excluded from their recommendations — viewed products stay recommendable; default:
    every training interaction counts as a purchase).
    """

    #: Layout version of the pickled server; bump it whenever attributes change, so an
    #: artifact saved by an older release asks for a rebuild instead of failing mid-request.
    FORMAT = 2

    def __init__(self, model: Recommender, neighbours: ItemKNN,
                 content: ContentRecommender | None, catalogue: pd.DataFrame,
                 exclude: np.ndarray, label: str,
                 purchased: sp.csr_matrix | None = None) -> None:
        self.format = self.FORMAT
        self.model = model
        self.purchased = sp.csr_matrix(model.seen_ if purchased is None else purchased)
        self.neighbours = neighbours
        self.content = content
        self.label = label
        self.exclude = np.asarray(exclude, dtype=np.int64)
        items = model.interactions_.item_ids
        cat = catalogue.set_index("product_id")
        self.descriptions = cat["description"].reindex(items).fillna("").astype(str).to_numpy()
        self._users = {str(u): i for i, u in enumerate(model.interactions_.user_ids.tolist())}
        self._items = {str(u): i for i, u in enumerate(items.tolist())}
        self._names = np.where(self.descriptions != "", self.descriptions,
                               items.astype(str)).astype(object)  # reason text per item

    @property
    def item_ids(self) -> np.ndarray:
        return self.model.interactions_.item_ids

    def recommend(self, customer_id: str, n: int = 10, exclude_seen: bool = True,
                  history: list[str] | None = None) -> dict[str, Any]:
        """Top-``n`` products for one customer with a reason each.

        Unknown customers are a cold start, not an error: with a ``history`` (product ids
        viewed or bought this session) and item text the content model ranks; otherwise the
        most popular products. ``source`` says which.
        """
        cid = str(customer_id)
        u = self._users.get(cid)
        if u is not None:
            idx, val = self.model.recommend_idx(np.array([u]), n, exclude_seen, self.exclude,
                                                self.purchased)
            bought, rows = self.purchased[[u]], self.model.seen_[[u]]
            source, label = "model", self.label
        else:
            rows = self._history_rows(history or [])
            bought = sp.csr_matrix(rows.shape, dtype=np.float32)
            if self.content is not None and rows.nnz:
                idx, val = self.content.recommend_history(rows, n, exclude_seen, self.exclude)
                source, label = "cold_start:content", "content"
            else:
                pop = self.model.popularity_[None, :].copy()
                mask_rows(pop, rows if exclude_seen else None, self.exclude)
                idx, val = top_k(pop, n)
                source, label = "cold_start:popularity", "popularity"
        reasons = self.reasons(bought, rows, idx, source)
        items = [{"product_id": str(self.item_ids[i]), "description": self.descriptions[i],
                  "score": float(s), "reason": r}
                 for i, s, r in zip(idx[0], val[0], reasons[0], strict=True) if i >= 0]
        return {"customer_id": cid, "model": label, "source": source, "items": items}

    def reasons(self, bought: sp.csr_matrix, seen: sp.csr_matrix, idx: np.ndarray,
                source: str) -> np.ndarray:
        """Reason text per recommended cell from item neighbours: "because you bought X"
        (the most similar purchase), else "because you looked at X" (any interaction)."""
        fallback = {"model": "popular with customers who buy what you buy",
                    "cold_start:content": "similar to products you looked at",
                    "cold_start:popularity": "popular with all customers (new customer)"}
        out = np.full(idx.shape, fallback.get(source, source), dtype=object)
        names = self._names
        looked, _ = explain(seen, idx, self.neighbours.w_)
        out[looked >= 0] = "because you looked at " + names[looked[looked >= 0]]
        best, _ = explain(bought, idx, self.neighbours.w_)
        out[best >= 0] = "because you bought " + names[best[best >= 0]]
        return out

    def similar_items(self, product_id: str, n: int = 10) -> dict[str, Any]:
        """Products most similar to ``product_id`` (co-purchase neighbours, then text).

        Raises
        ------
        NotFoundError
            The product is not in the catalogue the model was built on.
        """
        pid = str(product_id)
        i = self._items.get(pid)
        if i is None:
            raise NotFoundError(f"unknown product {pid!r}: not among the {len(self._items):,} "
                                "products the recommender was built on")
        sims = np.asarray(self.neighbours.item_similarity(np.array([i])), dtype=np.float64)
        if self.content is not None:  # text similarity breaks ties / fills cold items
            sims = sims + 1e-3 * np.maximum(self.content.item_similarity(np.array([i])), 0.0)
        sims[0, i] = -np.inf
        idx, val = top_k(sims, n)
        items = [{"product_id": str(self.item_ids[j]), "description": self.descriptions[j],
                  "score": float(s)} for j, s in zip(idx[0], val[0], strict=True)
                 if j >= 0 and s > 0]
        return {"product_id": pid, "description": self.descriptions[i], "items": items}

    def _history_rows(self, history: list[str]) -> sp.csr_matrix:
        cols = np.array(sorted({self._items[str(h)] for h in history if str(h) in self._items}),
                        dtype=np.int64)
        return sp.csr_matrix((np.ones(len(cols), dtype=np.float32),
                              (np.zeros(len(cols), dtype=np.int64), cols)),
                             shape=(1, len(self.item_ids)))


_LOADED: dict[tuple[str, int], RecommendationServer] = {}
_REBUILD = "run `insightloop recommend build`"


def load_recommender(settings: Settings) -> RecommendationServer:
    """The latest registered recommendation server (sha256-checked on first load).

    Kept in memory per (artifact folder, modification time): later calls in the same
    process (an API worker) return the loaded server until a new build registers another.

    Raises
    ------
    NotFoundError
        No recommender has been built.
    """
    from insightloop.services.registry import ARTIFACT, load_model, model_dir

    try:
        folder = model_dir(settings, MODEL_NAME)
    except NotFoundError:
        raise NotFoundError("no recommendation model: run `insightloop recommend build`") from None
    key = (str(folder.resolve()), (folder / ARTIFACT).stat().st_mtime_ns
           if (folder / ARTIFACT).exists() else 0)
    if key in _LOADED:
        return _LOADED[key]
    try:
        server, _meta = load_model(settings, MODEL_NAME)
    except (AttributeError, ImportError) as exc:  # pickled by a release whose classes moved
        raise NotFoundError(f"the recommendation model at {folder} was saved by another "
                            f"insightloop release ({exc}); {_REBUILD}") from None
    if not isinstance(server, RecommendationServer):
        raise NotFoundError(f"no recommendation model: {_REBUILD}")
    if getattr(server, "format", None) != RecommendationServer.FORMAT:
        raise NotFoundError(f"the recommendation model at {folder} has an older layout "
                            f"(format {getattr(server, 'format', 1)}, this release reads "
                            f"{RecommendationServer.FORMAT}); {_REBUILD}")
    _LOADED.clear()
    _LOADED[key] = server
    return server


# -- building for every customer -----------------------------------------------------------
def build_recommendations(settings: Settings, model: str = "auto", n: int = 10,
                          on_progress: Progress | None = None, embedder: str = "use",
                          weights: dict[str, float] | None = None,
                          half_life_days: float | None = None,
                          max_per_category: int | None = None, seed: int = 42
                          ) -> dict[str, Any]:
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
    """
    from insightloop.services.registry import save_model

    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    if embedder not in EMBEDDERS:
        raise ConfigError(f"embedder must be one of {list(EMBEDDERS)}, got {embedder!r}")
    say = on_progress or (lambda _m: None)
    started = time.perf_counter()
    say("reading interactions")
    frame = load_interactions(settings, weights, half_life_days)
    catalogue = load_catalogue(settings)
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
        vectors = pd.DataFrame(embed_texts(texts, embedder, Path(settings.models_dir) / "cache"),
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
    cold = _cold_customers(settings, inter, server, n)
    if len(cold):
        table = pd.concat([table, cold], ignore_index=True)
    with Warehouse.from_settings(settings).transaction() as con:
        write_frame(con, "recommendations", table.loc[:, list(RECOMMENDATION_COLUMNS)])
    meta = save_model(settings, MODEL_NAME, server, {
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


def _cold_customers(settings: Settings, inter: Interactions, server: RecommendationServer,
                    n: int) -> pd.DataFrame:
    wh = Warehouse.from_settings(settings)
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


def show_recommendations(settings: Settings, customer_id: str, n: int = 10) -> dict[str, Any]:
    """One customer's recommendations from the registered server (cold start included)."""
    return load_recommender(settings).recommend(customer_id, n)


# -- market-basket rules -----------------------------------------------------------------------
def basket_rules(settings: Settings, min_support: float = 0.01, min_confidence: float = 0.2,
                 min_lift: float = 1.0, max_rules: int = 50) -> dict[str, Any]:
    """Association rules ``A -> B`` over order baskets (purchase lines, not cancelled)."""
    wh = Warehouse.from_settings(settings)
    with wh.connect(read_only=wh.exists) as con:
        if not has_table(con, "orders"):
            raise WarehouseError("no orders table; ingest orders first")
        lines = con.execute(
            "SELECT DISTINCT order_id, product_id FROM orders WHERE quantity > 0 AND "
            "coalesce(status, 'completed') <> 'cancelled' AND product_id IS NOT NULL").df()
    if lines.empty:
        raise WarehouseError("no purchase lines in orders; ingest orders first")
    o_codes, _ = pd.factorize(lines["order_id"])
    i_codes, items = pd.factorize(lines["product_id"].astype(str), sort=True)
    baskets = sp.csr_matrix((np.ones(len(lines), dtype=np.float32), (o_codes, i_codes)),
                            shape=(int(o_codes.max()) + 1, len(items)))
    rules = association_rules(baskets, np.asarray(items, dtype=object), min_support,
                              min_confidence, min_lift, max_rules)
    desc = load_catalogue(settings).set_index("product_id")["description"]
    rules["antecedent_description"] = rules["antecedent"].map(desc)
    rules["consequent_description"] = rules["consequent"].map(desc)
    return {"baskets": int(baskets.shape[0]), "items": len(items),
            "min_support": min_support, "min_confidence": min_confidence,
            "rules": rules.to_dict(orient="records")}
