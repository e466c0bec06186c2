"""Batch scoring on Spark over the lake (the ``score`` stage): the fitted model goes to the
executors, every customer is scored there, and the scores are written to the lake.

* **cluster**: the profiles at the as-of date (:func:`~insightloop.services.spark.profiles.
  profiles_frame`), the scores, decisions and reasons (``mapInPandas``: the model and its
  metadata are broadcast once; each batch is scored with the same ``predict`` as the DuckDB
  path), table ``scores`` (this model's rows replaced, other models' kept) and the totals.
* **driver**: the drift check (population stability of each feature against the training
  summary) on at most ``sample_rows`` customers (all when fewer), appended to table
  ``drift``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, cast

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from insightloop.services.context import Context
from insightloop.services.spark.common import lake_of, session_of
from insightloop.services.spark.profiles import profiles_frame
from insightloop.services.spark.training import first_order

#: customers the drift check reads on the driver, at most
DRIFT_SAMPLE_ROWS = 200_000
SCORE_SCHEMA = ("customer_id string, model string, version long, score double, "
                "decision long, threshold double, as_of timestamp_ntz, "
                "scored_at timestamp_ntz, reasons string")
#: ``predict(model, metadata, X)`` -> frame of ``score, decision, reasons`` (index of X)
Predict = Callable[[Any, dict[str, Any], pd.DataFrame], pd.DataFrame]
#: ``drift(X, as_of, first_order)`` -> the drift frame of the DuckDB path
Drift = Callable[[pd.DataFrame, pd.Series, pd.Timestamp | None], pd.DataFrame]


def score_frame(profiles: DataFrame, model: Any, metadata: dict[str, Any], *,
                features: Callable[[pd.DataFrame], pd.DataFrame], predict: Predict,
                scored_at: datetime) -> DataFrame:
    """One row of table ``scores`` per profile, computed on the executors."""
    shared = profiles.sparkSession.sparkContext.broadcast((model, metadata))
    name, version = str(metadata["name"]), int(metadata["version"])

    def score(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        fitted, meta = shared.value
        for frame in frames:
            if not len(frame):
                continue
            pred = predict(fitted, meta, features(frame))
            yield pd.DataFrame({
                "customer_id": frame["customer_id"].astype(str).to_numpy(),
                "model": name, "version": version,
                "score": pred["score"].to_numpy(np.float64),
                "decision": pred["decision"].to_numpy(np.int64),
                "threshold": float(fitted.threshold_),
                "as_of": pd.to_datetime(frame["as_of"]).to_numpy(),
                "scored_at": pd.Timestamp(scored_at),
                "reasons": pred["reasons"].astype(str).to_numpy()})

    return profiles.mapInPandas(cast(Any, score), schema=SCORE_SCHEMA)


def _replace_rows(ctx: Context, table: str, new: DataFrame, model: str) -> None:
    """Table ``table`` of the lake with ``model``'s rows replaced by ``new``."""
    lake = lake_of(ctx)
    if lake.exists(table):
        old = lake.read_spark(session_of(ctx), table).filter(F.col("model") != model)
        new = old.unionByName(new, allowMissingColumns=True)
    lake.write_spark(new, table)


def score_lake(ctx: Context, model: Any, metadata: dict[str, Any], as_of: datetime | None, *,
               features: Callable[[pd.DataFrame], pd.DataFrame], predict: Predict,
               drift: Drift, sample_rows: int = DRIFT_SAMPLE_ROWS
               ) -> tuple[dict[str, Any], pd.DataFrame]:
    """Score every profile into the lake's ``scores``; append the drift rows to ``drift``.

    Returns the totals (``customers, as_of, mean_score, positives``) and the drift frame.
    """
    lake, session = lake_of(ctx), session_of(ctx)
    profiles, _ = profiles_frame(ctx, as_of)
    profiles = profiles.localCheckpoint(eager=True)
    now = datetime.now().replace(microsecond=0)
    scores = score_frame(profiles, model, metadata, features=features, predict=predict,
                         scored_at=now)
    _replace_rows(ctx, "scores", scores, str(metadata["name"]))
    mine = lake.read_spark(session, "scores").filter(F.col("model") == str(metadata["name"]))
    totals = mine.agg(F.count(F.lit(1)).alias("n"), F.avg("score").alias("mean"),
                      F.sum("decision").alias("positives"), F.min("as_of").alias("as_of")
                      ).first()
    picked = profiles.orderBy(F.xxhash64("customer_id"), F.col("customer_id")).limit(sample_rows)
    sample = pd.DataFrame(picked.toPandas())
    report = drift(features(sample), sample["as_of"], first_order(ctx))
    rows = report.assign(model=str(metadata["name"]), version=int(metadata["version"]),
                         computed_at=pd.Timestamp(now))
    if len(rows):
        new = session.createDataFrame(rows)
        if lake.exists("drift"):
            new = lake.read_spark(session, "drift").unionByName(new, allowMissingColumns=True)
        lake.write_spark(new, "drift")
    n = int(totals["n"]) if totals else 0
    return ({"customers": n, "as_of": totals["as_of"] if totals and n else None,
             "mean_score": float(totals["mean"]) if totals and n else None,
             "positives": int(totals["positives"] or 0) if totals else 0}, report)
