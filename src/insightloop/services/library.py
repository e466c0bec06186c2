"""The Python API's frame functions: frames in, frames out, the customer index kept.

``import insightloop`` exports these (lazily, see ``insightloop/__init__.py``) next to the
warehouse services they build on; ``docs/python-api.md`` shows them at work. Two kinds:

* **warehouse** functions take a :class:`~insightloop.services.context.Context` first (open
  one with :func:`open_warehouse`): :func:`ingest` a frame or a file, :func:`table` reads any
  table back as a frame indexed by ``customer_id``, :func:`recommend` answers a list of
  customer ids;
* **frame** functions need no warehouse: :func:`fit_clv`, :func:`fit_churn` and
  :func:`fit_recommender` run the product's own builds on an orders frame (in a
  throw-away warehouse, so the numbers are those the CLI gives); :func:`fit_classifier` /
  :func:`predict` fit and score any binary target; :func:`fit_sentiment` /
  :func:`sentiment` score review texts.

Customer and product ids are normalised the way ingestion stores them
(:func:`~insightloop.storage.ids.normalize_id`): an id read by pandas as the float
``17850.0``, the text ``"17850.0"`` and ``17850`` are all customer ``"17850"``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError, SchemaError
from insightloop.models.classify.pipeline import TabularClassifier
from insightloop.models.sentiment.classifier import SentimentClassifier
from insightloop.models.sentiment.model import SentimentModel
from insightloop.services.clv import build_clv
from insightloop.services.context import Context
from insightloop.services.ingest import ingest as ingest_file
from insightloop.services.recommend import build_recommendations, load_recommender
from insightloop.services.recommend.serving import RecommendationServer
from insightloop.services.results import IngestSummary
from insightloop.services.scoring import predict_frame, score_warehouse
from insightloop.services.sentiment.model import load_sentiment_model
from insightloop.services.training import train_task
from insightloop.settings import Settings
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import has_table

#: Temporary folders of warehouses opened without a path; removed when the process exits.
_TEMPORARY: list[tempfile.TemporaryDirectory[str]] = []


def open_warehouse(path: Path | str | None = None, *, models_dir: Path | str | None = None,
                   engine: str | None = None) -> Context:
    """The context of the warehouse at ``path`` (created on first write).

    Without ``path`` a fresh warehouse in a temporary folder (deleted when the process
    ends), for fitting on frames. The model registry is ``models_dir``, else ``models/``
    beside the warehouse. The environment (``INSIGHTLOOP_*``) is not read: what you pass is
    what you get.
    """
    if path is None:
        folder = tempfile.TemporaryDirectory(prefix="insightloop-")
        _TEMPORARY.append(folder)
        path = Path(folder.name) / "warehouse.duckdb"
    where = Path(path)
    settings = Settings.load(warehouse=where, engine=engine, env={})
    models = Path(models_dir) if models_dir is not None else where.parent / "models"
    return Context.from_settings(Settings.from_mapping(
        {**{f: getattr(settings, f) for f in settings.__dataclass_fields__},
         "models_dir": models, "reports_dir": where.parent / "reports"}))


def ingest(ctx: Context, table: str, data: pd.DataFrame | Path | str, *,
           preset: str | None = None, mapping: dict[str, str] | None = None) -> IngestSummary:
    """Load a frame or a file into canonical ``table`` (``orders``, ``customers``, ...).

    A frame goes through the same validation, id normalisation and quarantine as a file
    (it is written to a temporary Parquet file first); its index is not loaded (keep ids
    in columns). ``preset`` / ``mapping`` name its columns as for ``insightloop ingest``.
    """
    if not isinstance(data, pd.DataFrame):
        return ingest_file(ctx, table, data, preset=preset, mapping=mapping)
    if data.empty:
        raise SchemaError(f"the frame given for table {table!r} has no rows; nothing to load")
    with tempfile.TemporaryDirectory(prefix="insightloop-ingest-") as folder:
        file = Path(folder) / f"{table}.parquet"
        data.rename(columns=str).to_parquet(file, index=False)
        return ingest_file(ctx, table, file, preset=preset, mapping=mapping)


def table(ctx: Context, name: str) -> pd.DataFrame:
    """Warehouse table (or view, e.g. ``customer_360``) ``name`` as a frame, indexed by
    ``customer_id`` when it has one.

    Raises
    ------
    SchemaError
        No such table; the message lists the tables there are.
    """
    with ctx.read() as con:
        if not has_table(con, name):
            names = sorted(r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables").fetchall())
            raise SchemaError(f"no table {name!r} in {ctx.settings.warehouse}; tables: "
                              f"{', '.join(names) or 'none (ingest data first)'}")
        frame = con.execute(f"SELECT * FROM {ident(name)}").df()
    return frame.set_index("customer_id") if "customer_id" in frame.columns else frame


def _ids(customer_ids: Any) -> list[Any]:
    if isinstance(customer_ids, pd.Index | pd.Series | np.ndarray):
        return list(customer_ids.tolist())
    if isinstance(customer_ids, str) or not isinstance(customer_ids, Iterable):
        return [customer_ids]
    return list(customer_ids)


def recommend(source: Context | RecommendationServer, customer_ids: Any, n: int = 10
              ) -> pd.DataFrame:
    """Top-``n`` products for each customer id, one row per recommendation.

    ``source`` is a context (the recommender registered by ``build_recommendations``) or a
    server from :func:`fit_recommender`. Ids are normalised like ingestion (``17850.0`` is
    customer ``17850``); an unknown customer gets the popular products
    (``source == "cold_start:popularity"``), never an error.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (normalised, in the order given): ``rank``,
        ``product_id``, ``description``, ``score``, ``reason``, ``source``.
    """
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    server = source if isinstance(source, RecommendationServer) else load_recommender(source)
    return server.recommend_many(_ids(customer_ids), n).set_index("customer_id")


def fit_recommender(orders: pd.DataFrame, *, preset: str | None = None,
                    mapping: dict[str, str] | None = None, model: str = "auto",
                    embedder: str = "none") -> RecommendationServer:
    """Fit the recommender on an orders frame, as ``insightloop recommend build`` does.

    The frame is ingested into a throw-away warehouse (``preset`` / ``mapping`` as for
    :func:`ingest`), so ids, cancellations and returns are handled as in the product.
    Pass the result to :func:`recommend`. ``embedder="use"`` adds product-text cold start
    (slower).
    """
    ctx = open_warehouse()
    ingest(ctx, "orders", orders, preset=preset, mapping=mapping)
    build_recommendations(ctx, model=model, embedder=embedder)
    return load_recommender(ctx)


def fit_clv(orders: pd.DataFrame, *, preset: str | None = None,
            mapping: dict[str, str] | None = None, as_of: datetime | str | None = None,
            model: str = "bgnbd", horizon_months: int = 12) -> pd.DataFrame:
    """Customer lifetime value from an orders frame, as ``insightloop clv build`` computes it.

    Returns table ``clv`` indexed by ``customer_id``: ``frequency``, ``recency``, ``T``,
    ``monetary_value``, ``p_alive``, ``expected_purchases_<h>m``, ``expected_avg_value``,
    ``clv``, ``model``, ``fitted_at``.
    """
    ctx = open_warehouse()
    ingest(ctx, "orders", orders, preset=preset, mapping=mapping)
    build_clv(ctx, as_of=pd.Timestamp(as_of) if as_of is not None else None,
              horizon_months=horizon_months, model=model)
    return table(ctx, "clv")


def fit_churn(orders: pd.DataFrame, *, preset: str | None = None,
              mapping: dict[str, str] | None = None, horizon_days: int = 90,
              model: str = "auto") -> pd.DataFrame:
    """Churn risk of every customer of an orders frame, as ``insightloop train churn`` then
    ``insightloop score churn`` compute it (labels with no leakage, three as-of dates spaced
    by the horizon, profiles at the data's end).

    Returns table ``scores`` indexed by ``customer_id``: ``score`` (probability of no
    purchase in the next ``horizon_days``), ``decision``, ``threshold``, ``reasons``, ...
    """
    ctx = open_warehouse()
    ingest(ctx, "orders", orders, preset=preset, mapping=mapping)
    train_task(ctx, "churn", horizon_days=horizon_days, model=model)
    score_warehouse(ctx, "churn")
    return table(ctx, "scores")


def fit_classifier(X: pd.DataFrame, y: Any, *, positive: Any = None, model: str = "auto",
                   groups: Any = None) -> TabularClassifier:
    """A calibrated binary classifier (churn, propensity, any target) fitted on ``X``.

    Column kinds are inferred (numbers, categories, dates; ids dropped), the model
    (LightGBM or logistic, ``model="auto"``) is chosen by inner cross-validation. ``y`` is
    0/1, boolean or any two values with ``positive`` naming the positive one.
    """
    return TabularClassifier(model=model).fit(X, y, positive=positive, groups=groups)


def predict(model: TabularClassifier, X: pd.DataFrame, *, top: int = 3,
            label: str = "the score") -> pd.DataFrame:
    """``score`` (calibrated probability), ``decision`` (at the model's threshold) and the
    ``top`` ``reasons`` in words for every row of ``X``; the index of ``X`` is kept."""
    meta = {"features": {f: None for f in model.feature_names_in_}, "label": label,
            "name": "model", "version": 0}
    return predict_frame(model, meta, X, top=top)


def fit_sentiment(texts: Sequence[str] | pd.Series, labels: Any, *, kind: str = "baseline"
                  ) -> SentimentClassifier:
    """A review-sentiment classifier fitted on texts with labels 1 (positive) / 0."""
    return SentimentClassifier(kind=kind).fit(list(texts), np.asarray(labels))


def sentiment(texts: Sequence[str] | pd.Series, *, model: SentimentClassifier | None = None,
              lang: str = "auto") -> pd.DataFrame:
    """``label`` (positive / neutral / negative), ``score`` (-1..1), ``probability`` and
    ``language`` of each text, by the packaged model or a fitted ``model``; the index of a
    Series is kept."""
    scorer = (load_sentiment_model(None) if model is None
              else SentimentModel(model, name=f"{model.kind}:fitted"))
    index = texts.index if isinstance(texts, pd.Series) else pd.RangeIndex(len(texts))
    frame, _aspects = scorer.score_frame(list(texts), lang=lang, with_aspects=False)
    return frame.set_axis(index)
