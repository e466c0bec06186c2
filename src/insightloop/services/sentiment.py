"""Review sentiment use cases: score texts and warehouse reviews, satisfaction, topics, training.

Tables written (each command replaces its tables in one transaction):

* ``review_sentiment``: review_id, customer_id, product_id, review_time, language,
  label, score, probability, truncated, model;
* ``review_aspects``: review_id, customer_id, product_id, review_time, aspect,
  sentiment, probability;
* ``customer_sentiment``: customer_id, sentiment_reviews, sentiment_avg,
  sentiment_last, complaint_count (joined into the ``customer_360`` view);
* ``product_sentiment``: product_id, reviews, sentiment_avg, sentiment_last,
  complaint_count, net_sentiment;
* ``review_topics`` (review_id, topic_id, topic_name) and ``review_topic_summary``
  (topic_id, name, keywords, size, share, net_sentiment) from :func:`discover_topics`.

The model is the packaged default (:data:`DEFAULT_KIND`) unless ``insightloop
sentiment train`` saved one under ``settings.models_dir/sentiment/``.
"""

from __future__ import annotations

import importlib.resources
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insightloop.errors import InputFileError, NotFoundError, SchemaError, WarehouseError
from insightloop.models.sentiment import SentimentClassifier, SentimentModel
from insightloop.models.sentiment import satisfaction as sat
from insightloop.services.records import records
from insightloop.settings import Settings
from insightloop.storage.warehouse import Warehouse, has_table, write_frame

ProgressFn = Callable[[int, int], None]
PACKAGED_MODEL = "sentiment_usem3.npz"
PACKAGED_BASELINE = "sentiment_baseline.npz"
PACKAGED_E5 = "sentiment_e5.npz"
PACKAGED_FILES = {"usem3": PACKAGED_MODEL, "baseline": PACKAGED_BASELINE, "e5": PACKAGED_E5}
USER_MODEL = Path("sentiment") / "sentiment.npz"
BATCH = 512
_CACHE: dict[str, SentimentModel] = {}
_LOCK = threading.Lock()


DEFAULT_KIND = "baseline"
"""The packaged model ``default`` resolves to, chosen on the measured numbers
(docs/sentiment.md): the n-gram model beat the USE-m3 stack in and across domains."""


def packaged_model_path(model: str = "default") -> Path:
    """Path of a model shipped in the package: ``default``, ``baseline``, ``usem3`` or ``e5``."""
    kind = DEFAULT_KIND if model == "default" else model
    name = PACKAGED_FILES.get(kind, PACKAGED_BASELINE)
    return Path(str(importlib.resources.files("insightloop.data") / name))


def model_path(settings: Settings | None = None, model: str = "default") -> Path:
    """The model file used: a retrained one under ``models_dir`` first, else the packaged one."""
    if model not in ("default", *PACKAGED_FILES):
        path = Path(model)
        try:
            found = path.is_file()
        except (OSError, ValueError):  # a name too long for the file system, or with NUL
            found = False
        if not found:
            raise NotFoundError(f"sentiment model file {model[:200]!r} does not exist (or is "
                                "not a file); name default, baseline, usem3 or e5, or a .npz "
                                "written by `insightloop sentiment train`")
        return path
    if model == "default" and settings is not None:
        user = settings.models_dir / USER_MODEL
        if user.exists():
            return user
    return packaged_model_path(model)


def load_sentiment_model(settings: Settings | None = None, model: str = "default"
                         ) -> SentimentModel:
    """The sentiment model (cached per file): retrained under ``settings.models_dir`` or packaged.

    ``model`` is ``"default"`` (a retrained model if saved, else the packaged
    :data:`DEFAULT_KIND`), ``"baseline"`` (TF-IDF n-grams + logistic regression),
    ``"usem3"`` (USE-m3 embedding stacked with the n-grams), ``"e5"`` (multilingual-e5-small
    embedding stacked with the n-grams; more accurate, about 10 reviews/s) or a path to a ``.npz``
    written by ``insightloop sentiment train``.
    """
    path = model_path(settings, model)
    key = str(path.resolve())
    with _LOCK:
        if key not in _CACHE:
            try:
                clf = SentimentClassifier.load(path)
            except (OSError, ValueError, KeyError, TypeError, EOFError):
                raise InputFileError(f"{path} is not a sentiment model file; give a .npz "
                                     "written by `insightloop sentiment train`") from None
            name = str(clf.metadata.get("name") or f"{clf.kind}:{path.stem}")
            _CACHE[key] = SentimentModel(clf, name=name)
        return _CACHE[key]


def score_texts(texts: list[str], lang: str = "auto", settings: Settings | None = None,
                model: str = "default") -> list[dict[str, Any]]:
    """Score texts: ``[{"label", "score", "probability", "language", "truncated", "aspects"}]``."""
    if lang not in ("auto", "zh", "en"):
        raise SchemaError(f"lang must be auto, zh or en, got {lang!r}")
    return load_sentiment_model(settings, model).score(texts, lang)


# ----- warehouse scoring -----------------------------------------------------------------

def score_reviews(settings: Settings, on_progress: ProgressFn | None = None,
                  batch_size: int = BATCH, model: str = "default") -> dict[str, Any]:
    """Score every review in the warehouse and write the sentiment tables (one transaction)."""
    wh = Warehouse.from_settings(settings)
    with wh.connect(read_only=wh.exists) as con:
        if not has_table(con, "reviews"):
            raise WarehouseError("no reviews table; ingest reviews first "
                                 "(`insightloop ingest reviews FILE`)")
        reviews = con.execute(
            "SELECT review_id, customer_id, product_id, review_time, rating, text "
            "FROM reviews ORDER BY review_time, review_id").df()
    if reviews.empty:
        raise WarehouseError("table `reviews` is empty; ingest reviews first "
                             "(`insightloop ingest reviews FILE`)")
    scorer = load_sentiment_model(settings, model)
    started = time.perf_counter()
    frames, aspects = [], []
    n = len(reviews)
    for start in range(0, n, batch_size):
        part = reviews["text"].iloc[start:start + batch_size].tolist()
        frame, asp = scorer.score_frame(part)
        frames.append(frame)
        asp["doc"] = asp["doc"].astype(np.int64) + start
        aspects.append(asp)
        if on_progress:
            on_progress(min(start + batch_size, n), n)
    scored = pd.concat(frames, ignore_index=True)
    keys = reviews.loc[:, ["review_id", "customer_id", "product_id", "review_time"]]
    table = pd.concat([keys.reset_index(drop=True), scored], axis=1)
    table["model"] = scorer.name
    asp_all = pd.concat(aspects, ignore_index=True)
    asp_table = pd.concat([keys.iloc[asp_all["doc"].to_numpy()].reset_index(drop=True),
                           asp_all.loc[:, ["aspect", "sentiment", "probability"]]
                           .reset_index(drop=True)], axis=1)
    asp_table["probability"] = asp_table["probability"].astype("float64")
    elapsed = time.perf_counter() - started
    with wh.transaction() as con:
        write_frame(con, "review_sentiment", table)
        write_frame(con, "review_aspects", asp_table)
        _write_profiles(con)
        from insightloop.services.profiles import refresh_customer_360

        refresh_customer_360(con)
    counts = table["label"].value_counts()
    return {"reviews": n, "model": scorer.name,
            "positive": int(counts.get("positive", 0)),
            "negative": int(counts.get("negative", 0)),
            "neutral": int(counts.get("neutral", 0)),
            "truncated": int(table["truncated"].sum()),
            "aspect_mentions": len(asp_table),
            "reviews_per_second": n / elapsed if elapsed > 0 else None,
            "languages": {str(k): int(v) for k, v in table["language"].value_counts().items()}}


_PROFILE_SQL = """
SELECT {key}, count(*) AS {count_col}, avg(score) AS sentiment_avg,
       arg_max(score, review_time) AS sentiment_last,
       count(*) FILTER (WHERE label = 'negative') AS complaint_count{extra}
FROM review_sentiment WHERE {key} IS NOT NULL GROUP BY {key}
"""


def _write_profiles(con: Any) -> None:
    con.execute("CREATE OR REPLACE TABLE customer_sentiment AS " + _PROFILE_SQL.format(
        key="customer_id", count_col="sentiment_reviews", extra=""))
    con.execute("CREATE OR REPLACE TABLE product_sentiment AS " + _PROFILE_SQL.format(
        key="product_id", count_col="reviews",
        extra=", avg(CASE label WHEN 'positive' THEN 1.0 WHEN 'negative' THEN -1.0 "
              "ELSE 0.0 END) AS net_sentiment"))


# ----- satisfaction ------------------------------------------------------------------------

def _scored(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    wh = Warehouse.from_settings(settings)
    with wh.connect(read_only=True) as con:
        if not has_table(con, "review_sentiment"):
            raise WarehouseError("no review sentiment yet; run `insightloop sentiment score`")
        has_cat = has_table(con, "products")
        cat = ("LEFT JOIN (SELECT product_id, any_value(category) AS category FROM products "
               "GROUP BY product_id) p USING (product_id)") if has_cat else ""
        catcol = ", coalesce(p.category, '(none)') AS category" if has_cat else \
            ", '(none)' AS category"
        frame = con.execute(f"SELECT s.*{catcol} FROM review_sentiment s {cat}").df()
        aspects = con.execute(f"SELECT a.*{catcol} FROM review_aspects a {cat}").df()
    return frame, aspects


BY = {"product": "product_id", "category": "category", "customer": "customer_id",
      "month": "month"}


def satisfaction(settings: Settings, by: str = "product", top: int = 3) -> list[dict[str, Any]]:
    """Per product, category, customer or month: volume, shares, net sentiment, complaints.

    Rows are sorted by net sentiment, worst first (months: chronological).
    """
    if by not in BY:
        raise SchemaError(f"by must be one of {sorted(BY)}, got {by!r}")
    frame, aspects = _scored(settings)
    col = BY[by]
    month = pd.to_datetime(frame["review_time"]).dt.to_period("M").astype(str)
    frame = frame.assign(month=month)
    aspects = aspects.assign(month=pd.to_datetime(aspects["review_time"]).dt.to_period("M")
                             .astype(str))
    out = sat.summarize(frame, col)
    complaints = sat.top_complaints(aspects, col, top=top)
    grouped = {k: [{"aspect": str(a), "count": int(c)} for a, c in zip(g["aspect"], g["count"],
                                                                        strict=True)]
               for k, g in complaints.groupby(col, sort=False)}
    out["top_complaints"] = out[col].map(lambda k: grouped.get(k, []))
    if by == "month":
        out = out.sort_values(col)
    else:
        out = out.sort_values(["net_sentiment", "reviews", col], ascending=[True, False, True])
    return records(out.rename(columns={col: by}))


def product_insights(settings: Settings, product_id: str, top: int = 5) -> dict[str, Any]:
    """One product: shares, net sentiment, top complaint aspects, monthly trend and forecast."""
    frame, aspects = _scored(settings)
    mine = frame.loc[frame["product_id"].astype(str) == str(product_id)]
    if mine.empty:
        raise NotFoundError(f"product {product_id!r} has no scored reviews")
    summary = sat.summarize(mine.assign(_k=0), "_k").iloc[0]
    mine_asp = aspects.loc[aspects["product_id"].astype(str) == str(product_id)]
    complaints = sat.top_complaints(mine_asp.assign(_k=0), "_k", top=top)
    monthly = sat.monthly_trend(mine)
    alerts = sat.drop_alerts(frame)
    alert = alerts.loc[alerts["product_id"].astype(str) == str(product_id)]
    return {
        "product_id": str(product_id), "reviews": int(summary["reviews"]),
        "positive_share": float(summary["positive_share"]),
        "negative_share": float(summary["negative_share"]),
        "net_sentiment": float(summary["net_sentiment"]),
        "top_complaints": [{"aspect": str(a), "count": int(c)}
                           for a, c in zip(complaints["aspect"], complaints["count"],
                                           strict=True)],
        "monthly": [{"month": pd.Timestamp(m).strftime("%Y-%m"), "reviews": int(r),
                     "net_sentiment": float(v)}
                    for m, r, v in zip(monthly["month"], monthly["reviews"],
                                       monthly["net_sentiment"], strict=True)],
        "forecast": sat.forecast_next(monthly),
        "alert": records(alert)[0] if not alert.empty else None,
    }


def sentiment_trend(settings: Settings, recent_days: int = 90, alpha: float = 0.05
                    ) -> dict[str, Any]:
    """Monthly net sentiment overall, next month's forecast, and product drop alerts."""
    frame, _ = _scored(settings)
    monthly = sat.monthly_trend(frame)
    alerts = sat.drop_alerts(frame, recent_days=recent_days, alpha=alpha)
    return {"monthly": records(monthly.assign(month=monthly["month"].dt.strftime("%Y-%m"))),
            "forecast": sat.forecast_next(monthly), "alerts": records(alerts),
            "test": f"one-sided two-proportion z-test of the negative share, last {recent_days} "
                    f"days vs before, alpha {alpha}"}


# ----- topics ------------------------------------------------------------------------------

def discover_topics(settings: Settings, k: int | None = None, max_reviews: int = 20000,
                    seed: int = 0, on_progress: ProgressFn | None = None) -> dict[str, Any]:
    """Cluster review embeddings into topics named by keywords; writes the topic tables.

    At most ``max_reviews`` reviews (the most recent) are clustered.
    """
    from insightloop.models.sentiment.encoder import PretrainedEncoder
    from insightloop.models.sentiment.text import clean_texts
    from insightloop.models.sentiment.topics import cluster_topics

    wh = Warehouse.from_settings(settings)
    with wh.connect(read_only=True) as con:
        if not has_table(con, "reviews"):
            raise WarehouseError("no reviews table; ingest reviews first")
        sent = "LEFT JOIN review_sentiment s USING (review_id)" if has_table(
            con, "review_sentiment") else ""
        label = "s.label" if sent else "NULL"
        reviews = con.execute(
            f"SELECT r.review_id, r.text, {label} AS label FROM reviews r {sent} "
            "WHERE r.text IS NOT NULL AND length(trim(r.text)) > 0 "
            "ORDER BY r.review_time DESC, r.review_id LIMIT ?", [int(max_reviews)]).df()
    if len(reviews) < 2:
        raise WarehouseError("topic discovery needs at least two reviews with text")
    clean, _ = clean_texts(reviews["text"])
    encoder = PretrainedEncoder("sentence")
    chunks = []
    n = len(clean)
    for start in range(0, n, BATCH):
        chunks.append(encoder.encode(clean.iloc[start:start + BATCH].tolist()))
        if on_progress:
            on_progress(min(start + BATCH, n), n)
    labels, table = cluster_topics(np.vstack(chunks), clean.tolist(), k=k, seed=seed)
    names = table.set_index("topic_id")["name"]
    members = pd.DataFrame({"review_id": reviews["review_id"].to_numpy(), "topic_id": labels,
                            "topic_name": names.reindex(labels).to_numpy()})
    lab = reviews["label"]
    net = (lab.eq("positive").astype(float) - lab.eq("negative").astype(float))
    table["net_sentiment"] = (net.groupby(labels).mean().reindex(table["topic_id"]).to_numpy()
                              if lab.notna().any() else np.nan)
    with wh.transaction() as con:
        write_frame(con, "review_topics", members)
        write_frame(con, "review_topic_summary", table)
    return {"reviews": n, "topics": records(table)}


def list_topics(settings: Settings) -> list[dict[str, Any]]:
    """Topics last discovered (largest first)."""
    wh = Warehouse.from_settings(settings)
    with wh.connect(read_only=True) as con:
        if not has_table(con, "review_topic_summary"):
            raise WarehouseError("no topics yet; run `insightloop topics`")
        frame = con.execute("SELECT * FROM review_topic_summary ORDER BY size DESC, topic_id").df()
    return records(frame)


# ----- labelled files: evaluation and training -------------------------------------------

POSITIVE = {"1", "1.0", "positive", "pos", "true", "yes"}
NEGATIVE = {"0", "0.0", "negative", "neg", "false", "no"}


def read_labelled(path: Path, text: str, label: str) -> tuple[list[str], np.ndarray]:
    """Texts and 1/0 labels from a CSV/TSV/Parquet/JSONL file (labels 1/0 or positive/negative).

    Invalid UTF-8 is an :class:`InputFileError` naming the file and line; a BOM is
    dropped; rows with an unknown label are an error naming the first bad row.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file does not exist")
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if suffix.endswith(".parquet"):
            frame = pd.read_parquet(path)
        elif ".jsonl" in suffix or ".ndjson" in suffix:
            _check_utf8(path)
            frame = pd.read_json(path, lines=True, dtype=False, encoding="utf-8-sig")
        else:
            _check_utf8(path)
            sep = "\t" if ".tsv" in suffix else ","
            frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False,
                                encoding="utf-8-sig")
    except (ValueError, OSError) as exc:
        if isinstance(exc, InputFileError):
            raise
        raise InputFileError(f"{path}: cannot read ({exc})") from exc
    frame.columns = [str(c).lstrip("\ufeff") for c in frame.columns]
    for col in (text, label):
        if col not in frame.columns:
            raise InputFileError(f"{path}: no column {col!r}; columns are {list(frame.columns)}")
    raw = frame[label].astype(str).str.strip().str.lower()
    y = np.where(raw.isin(POSITIVE), 1, np.where(raw.isin(NEGATIVE), 0, -1))
    bad = np.flatnonzero(y < 0)
    if bad.size:
        raise InputFileError(f"{path}: row {int(bad[0]) + 2}, column {label!r}: label "
                             f"{frame[label].iloc[bad[0]]!r} is not 1/0 or positive/negative "
                             f"({bad.size} such rows)")
    texts = frame[text].where(frame[text].notna(), "").astype(str).tolist()
    return texts, y.astype(np.int64)


def _check_utf8(path: Path) -> None:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(f"{path}: line {line}: invalid UTF-8 byte "
                             f"0x{data[exc.start]:02x} at offset {exc.start}; re-save the "
                             "file as UTF-8") from exc


def evaluate_file(path: Path, text: str, label: str, lang: str = "auto",
                  model: str = "default", settings: Settings | None = None) -> dict[str, Any]:
    """Score a labelled file with a shipped (or retrained) model; accuracy and macro F1.

    Accuracy and F1 count every row by the sign of the probability (P >= 0.5 is
    positive), so abstained (neutral) rows are scored too; ``abstained`` counts them
    and ``accuracy_confident`` is the accuracy on the others.
    """
    from sklearn.metrics import f1_score

    texts, y = read_labelled(path, text, label)
    if not texts:
        raise InputFileError(f"{path}: no rows")
    scorer = load_sentiment_model(settings, model)
    started = time.perf_counter()
    frame, _ = scorer.score_frame(texts, lang=lang, with_aspects=False)
    elapsed = time.perf_counter() - started
    pred = (frame["probability"].to_numpy() >= 0.5).astype(np.int64)
    confident = frame["label"].to_numpy() != "neutral"
    return {
        "rows": len(y), "accuracy": float((pred == y).mean()),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=[0, 1], zero_division=0)),
        "reviews_per_second": len(y) / elapsed if elapsed > 0 else None,
        "model": scorer.name, "abstained": int((~confident).sum()),
        "accuracy_confident": float((pred[confident] == y[confident]).mean())
        if confident.any() else None,
        "languages": {str(k): int(v) for k, v in frame["language"].value_counts().items()},
    }


def train_model(settings: Settings, path: Path, text: str, label: str, kind: str = "baseline",
                output: Path | None = None) -> dict[str, Any]:
    """Fit the sentiment head on a labelled file and save it (used by every later command).

    Saves to ``settings.models_dir/sentiment/sentiment.npz`` unless ``output`` is given.
    """
    from insightloop.models.sentiment.text import clean_texts

    texts, y = read_labelled(path, text, label)
    clean, _ = clean_texts(texts)
    started = time.perf_counter()
    clf = SentimentClassifier(kind=kind, embed_weight=0.3 if kind == "e5" else 1.0
                              ).fit(clean.tolist(), y)
    target = output or settings.models_dir / USER_MODEL
    clf.save(target, name=f"{kind}:{Path(path).name}", trained_on=str(path))
    with _LOCK:
        _CACHE.pop(str(Path(target).resolve()), None)
    return {"rows": len(y), "positives": int(y.sum()), "kind": kind, "path": str(target),
            "seconds": time.perf_counter() - started}




def customer_sentiment_features(con: Any, as_of: Any) -> pd.DataFrame:
    """Point-in-time review sentiment per customer from reviews strictly before ``as_of``.

    Columns customer_id, sentiment_reviews, sentiment_avg, sentiment_last,
    complaint_count; used as predictive-model features by ``compute_profiles``
    (customers without reviews get NaN / 0 after the join).
    """
    sql = _PROFILE_SQL.format(key="customer_id", count_col="sentiment_reviews", extra="")
    sql = sql.replace("WHERE customer_id IS NOT NULL",
                      "WHERE customer_id IS NOT NULL AND review_time < ?")
    return con.execute(sql, [as_of]).df()


# ----- demo --------------------------------------------------------------------------------

REVIEWS_SAMPLE = "reviews_sample.csv.gz"


def demo_reviews(settings: Settings) -> pd.DataFrame:
    """The bundled real review texts linked to demo customers and products (synthetic link).

    Texts are real (Blitzer multi-domain en, online_shopping_10_cats zh; test-split
    rows only, see data/ATTRIBUTION.md); who wrote them about what is NOT: review
    ``i`` is attached, deterministically, to the ``i``-th of a fixed, evenly spaced
    selection of order lines (customer, product), dated 3-16 days after that order.
    Reviews are concentrated on the 40 most ordered products so products have
    several reviews each.
    """
    sample = pd.read_csv(Path(str(importlib.resources.files("insightloop.data")
                                  / REVIEWS_SAMPLE)), dtype={"text": str})
    wh = Warehouse.from_settings(settings)
    with wh.connect(read_only=True) as con:
        lines = con.execute("""
            WITH top AS (SELECT product_id FROM orders WHERE customer_id IS NOT NULL
                         GROUP BY product_id ORDER BY count(*) DESC, product_id LIMIT 40)
            SELECT o.customer_id, o.product_id, min(o.order_time) AS order_time
            FROM orders o JOIN top USING (product_id)
            WHERE o.customer_id IS NOT NULL AND o.quantity > 0
            GROUP BY o.customer_id, o.product_id
            ORDER BY order_time, customer_id, product_id""").df()
    if lines.empty:
        raise WarehouseError("demo reviews need orders with customers; ingest orders first")
    pick = np.linspace(0, len(lines) - 1, num=len(sample)).round().astype(np.int64)
    chosen = lines.iloc[pick].reset_index(drop=True)
    offset = pd.to_timedelta(3 + np.arange(len(sample)) % 14, unit="D")
    return pd.DataFrame({
        "review_id": [f"demo-r{i:04d}" for i in range(len(sample))],
        "customer_id": chosen["customer_id"].astype(str),
        "product_id": chosen["product_id"].astype(str),
        "review_time": pd.to_datetime(chosen["order_time"]) + offset,
        "rating": np.where(sample["label"].to_numpy() == 1, 5.0, 1.0),
        "text": sample["text"], "language": sample["language"],
    })


def ingest_demo_reviews(settings: Settings) -> dict[str, Any]:
    """Ingest :func:`demo_reviews` as table ``reviews`` (through the normal ingest path)."""
    import tempfile

    from insightloop.storage.ingest import ingest_file

    frame = demo_reviews(settings)
    with tempfile.TemporaryDirectory(prefix="insightloop-demo-") as folder:
        path = Path(folder) / "demo_reviews.csv"
        frame.to_csv(path, index=False)
        return ingest_file(Warehouse.from_settings(settings), "reviews", path).as_dict()
