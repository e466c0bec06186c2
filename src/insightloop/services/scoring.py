"""Batch scoring into the warehouse, per-customer explanations and drift monitoring.

:func:`score_warehouse` computes current profiles, checks they carry the
model's features, scores every customer and replaces that model's rows of
table ``scores`` (``customer_id, model, version, score, decision, threshold,
as_of, scored_at, reasons``) in one transaction. It also computes the
population stability index of every feature against the training summary
stored with the model, appends it to table ``drift`` and raises a
:class:`~insightloop.models.classify.drift.DriftWarning` for features with
PSI > 0.25. Tenure, which grows with the as-of date by construction, is compared
relative to the history the warehouse holds at each as-of date.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from insightloop.errors import NotFoundError
from insightloop.models.classify.drift import PSI_HIGH, DriftWarning, population_stability
from insightloop.models.classify.explain import top_reasons
from insightloop.models.classify.typing import UnseenCategoryWarning
from insightloop.services.context import Context
from insightloop.services.evaluation import read_table_file
from insightloop.services.registry import check_features
from insightloop.services.results import FileScored, LiveScore, Reason, ScoresBuilt
from insightloop.services.training import feature_frame, history_relative, relative_to
from insightloop.storage.lake import is_lake
from insightloop.storage.warehouse import has_table, write_frame


def predict_frame(model: Any, metadata: dict[str, Any], X: pd.DataFrame, top: int = 3
                  ) -> pd.DataFrame:
    """Scores, decisions and top reasons for the rows of ``X`` (index kept).

    Raises
    ------
    FeatureMismatchError
        ``X`` lacks features the model was trained on.
    """
    check_features(metadata, [str(c) for c in X.columns])
    p = model.predict_proba(X)[:, 1]
    out = pd.DataFrame({"score": p, "decision": (p >= model.threshold_).astype("int64")},
                       index=X.index)
    if top > 0 and len(X):
        with warnings.catch_warnings():  # already reported by predict_proba above
            warnings.simplefilter("ignore", UnseenCategoryWarning)
            reasons = top_reasons(model, X, top=top,
                                  label=str(metadata.get("label", "the score")))
        joined = reasons.groupby("row", sort=False)["text"].agg("; ".join)
        out["reasons"] = joined.reindex(X.index).fillna("")
    else:
        out["reasons"] = ""
    return out


def drift_report(metadata: dict[str, Any], X: pd.DataFrame,
                 relative: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """PSI per feature against the model's training summary; warns on large drift.

    ``relative`` gives, for features bounded by the data's history (tenure), each row's
    history in days (:func:`~insightloop.services.training.history_relative`): they are
    compared relative to it, since they grow with the as-of date by construction.
    """
    drift = population_stability(metadata.get("training_summary", {}), X, relative)
    high = drift[drift["psi"] > PSI_HIGH]
    if not high.empty:
        listed = ", ".join(f"{f} (PSI {v:.2f})" for f, v in zip(high["feature"], high["psi"],
                                                                strict=True))
        warnings.warn(
            f"model {metadata.get('name')}:v{metadata.get('version')}: scoring data drifted from "
            f"training on {listed}; scores may be unreliable, consider retraining",
            DriftWarning, stacklevel=2,
        )
    return drift


def score_warehouse(ctx: Context, ref: str, as_of: datetime | None = None,
                    top: int = 3) -> ScoresBuilt:
    """Score every customer's profile with a registered model into table ``scores``.

    Parameters
    ----------
    ctx : Context
        Warehouse, registry and engine.
    ref : str
        ``NAME[:VERSION]`` of the model (latest version by default).
    as_of : datetime, optional
        Profiles use data strictly before this (default: all loaded orders).
    top : int
        Reasons stored per customer.

    Returns
    -------
    ScoresBuilt
        ``model, version, customers, as_of, mean_score, positives, drift`` (features with
        PSI above 0.1).
    """
    # lazy: pulls in scikit-learn/LightGBM/ibis; only this path needs it
    from insightloop.services.profiles import compute_profiles, refresh_customer_360

    model, meta = ctx.models.load(ref)
    if ctx.engine.is_spark and is_lake(ctx.settings.warehouse):
        return _score_on_spark(ctx, model, meta, as_of, top)
    wh = ctx.warehouse
    profiles = compute_profiles(ctx, as_of)
    X = feature_frame(profiles)
    pred = predict_frame(model, meta, X, top=top)
    now = datetime.now().replace(microsecond=0)
    scores = pd.DataFrame({
        "customer_id": profiles["customer_id"].astype(str),
        "model": meta["name"],
        "version": int(meta["version"]),
        "score": pred["score"].to_numpy(),
        "decision": pred["decision"].to_numpy(),
        "threshold": float(model.threshold_),
        "as_of": pd.to_datetime(profiles["as_of"]),
        "scored_at": pd.Timestamp(now),
        "reasons": pred["reasons"].to_numpy(),
    })
    drift = drift_report(meta, X, history_relative(ctx, X, profiles["as_of"]))
    drift_rows = drift.assign(model=meta["name"], version=int(meta["version"]),
                              computed_at=pd.Timestamp(now))
    with wh.transaction() as con:
        if has_table(con, "scores"):
            con.execute("DELETE FROM scores WHERE model = ?", [meta["name"]])
        write_frame(con, "scores", scores, replace=False)
        write_frame(con, "drift", drift_rows, replace=False)
        refresh_customer_360(con)
    moved = drift[drift["status"] != "stable"]
    return {
        "model": meta["name"], "version": int(meta["version"]), "customers": len(scores),
        "as_of": scores["as_of"].iloc[0] if len(scores) else None,
        "mean_score": float(np.mean(scores["score"])) if len(scores) else None,
        "positives": int(scores["decision"].sum()), "threshold": float(model.threshold_),
        "drift": dict(zip(moved["feature"], moved["psi"].round(4), strict=True)),
    }


def _score_on_spark(ctx: Context, model: Any, meta: dict[str, Any], as_of: datetime | None,
                    top: int) -> ScoresBuilt:
    """:func:`score_warehouse` on the cluster over a lake (:mod:`.spark.scoring`)."""
    # lazy: pyspark (the optional [spark] extra) only for engine 'spark' over a lake
    from insightloop.services.spark import scoring as spark_scoring

    def predict(fitted: Any, metadata: dict[str, Any], X: pd.DataFrame) -> pd.DataFrame:
        return predict_frame(fitted, metadata, X, top=top)

    def drift(X: pd.DataFrame, row_as_of: pd.Series, first: pd.Timestamp | None
              ) -> pd.DataFrame:
        return drift_report(meta, X, relative_to(first, X, row_as_of))

    totals, report = spark_scoring.score_lake(ctx, model, meta, as_of, features=feature_frame,
                                              predict=predict, drift=drift)
    moved = report[report["status"] != "stable"]
    return {
        "model": meta["name"], "version": int(meta["version"]), "customers": totals["customers"],
        "as_of": totals["as_of"], "mean_score": totals["mean_score"],
        "positives": totals["positives"], "threshold": float(model.threshold_),
        "drift": dict(zip(moved["feature"], moved["psi"].round(4), strict=True)),
    }


def score_file(ctx: Context, ref: str, path: Path | str, out: Path | str | None = None,
               top: int = 3) -> FileScored:
    """Score the rows of a file (same columns as the training file) with a registered model.

    Writes the input columns plus ``score, decision, reasons`` to ``out`` (CSV or
    Parquet by suffix) when given.
    """
    model, meta = ctx.models.load(ref)
    frame = read_table_file(path)
    pred = predict_frame(model, meta, frame, top=top)
    drift = drift_report(meta, frame)
    result = pd.concat([frame, pred], axis=1)
    if out is not None:
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix.lower() in (".parquet", ".pq"):
            result.to_parquet(target, index=False)
        else:
            result.to_csv(target, index=False)
    moved = drift[drift["status"] != "stable"]
    return {"model": meta["name"], "version": int(meta["version"]), "rows": len(result),
            "mean_score": float(pred["score"].mean()) if len(pred) else None,
            "positives": int(pred["decision"].sum()), "out": str(out) if out else None,
            "drift": dict(zip(moved["feature"], moved["psi"].round(4), strict=True))}


def explain_customer(ctx: Context, ref: str, customer_id: str,
                     as_of: datetime | None = None, top: int = 5) -> LiveScore:
    """One customer's score with the ``top`` reasons in numbers and plain words."""
    # lazy: pulls in scikit-learn/LightGBM/ibis; only this path needs it
    from insightloop.services.profiles import compute_profiles

    model, meta = ctx.models.load(ref)
    profiles = compute_profiles(ctx, as_of)
    row = profiles[profiles["customer_id"].astype(str) == str(customer_id)]
    if row.empty:
        raise NotFoundError(f"customer {customer_id!r} has no orders before the as-of date in "
                            f"{ctx.settings.warehouse}; nothing to score")
    X = feature_frame(row)
    check_features(meta, [str(c) for c in X.columns])
    p = float(model.predict_proba(X)[0, 1])
    reasons = top_reasons(model, X, top=top, label=str(meta.get("label", "the score")))
    return {
        "customer_id": str(customer_id), "model": meta["name"], "version": int(meta["version"]),
        "label": meta.get("label"), "score": p, "decision": int(p >= model.threshold_),
        "threshold": float(model.threshold_), "as_of": row["as_of"].iloc[0],
        "reasons": cast("list[Reason]",
                        reasons[["feature", "value", "effect", "text"]].to_dict(orient="records")),
    }
