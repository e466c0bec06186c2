"""Train predictive scores (churn, purchase propensity, campaign response, any target).

Training examples are stacked over one or more as-of dates: for each date the
features are the customer profiles computed strictly before it
(:func:`insightloop.services.profiles.compute_profiles`) and the label looks
only at ``[as_of, as_of + horizon)`` (:mod:`insightloop.features.labels`).
A label window that runs past the end of the data is refused: its labels would
be incomplete (every customer would look like a churner).

Identifier and timestamp columns (``customer_id``, ``as_of``, ``*_time``) are not
features; recency, tenure and gaps already carry the time information as
numbers. Inner cross-validation folds group rows by customer, so one customer's
rows at several as-of dates never sit on both sides of a fold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insightloop.capabilities.predict import TASKS  # the train job validates against it too
from insightloop.errors import ConfigError, ModelFitError, SchemaError, WarehouseError
from insightloop.models.classify.drift import distribution_summary
from insightloop.services.context import Context
from insightloop.services.evaluation import read_table_file, split_target
from insightloop.services.results import ModelInfo
from insightloop.storage.lake import is_lake
from insightloop.storage.warehouse import has_table

LABELS = {"churn": "churn risk", "propensity": "purchase probability",
          "response": "response probability"}
NOT_FEATURES = ("customer_id", "as_of", "label")
#: Profile columns bounded by the history the warehouse holds at the as-of date: a
#: customer's tenure cannot exceed the days since the first order loaded, so it grows with
#: the as-of date by construction. The drift check compares them relative to that history
#: (:mod:`insightloop.models.classify.drift`).
HISTORY_BOUNDED = ("tenure_days",)
IMPORTANCE_SAMPLE = 2000


def feature_frame(profiles: pd.DataFrame) -> pd.DataFrame:
    """Profile columns usable as features: identifiers and timestamps removed."""
    drop = [c for c in profiles.columns
            if c in NOT_FEATURES or str(c).endswith("_time")]
    return profiles.drop(columns=drop)


def available_features(X: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Profile features without the columns this warehouse has no data for.

    A profile always has every column of
    :data:`~insightloop.features.profiles.PROFILE_COLUMNS`; those whose source is not
    loaded (``fav_category_*`` without product categories, ``channel`` without a channel
    column) are missing on every row. They are left out here, and recorded, instead of
    reaching the classifier, whose warning about empty columns is meant for a user's own
    table.
    """
    empty = [str(c) for c in X.columns if X[c].isna().all()]
    reason = "no values in this warehouse (its source table or column is not loaded)"
    return X.drop(columns=empty), dict.fromkeys(empty, reason)


def history_relative(ctx: Context, X: pd.DataFrame, as_of: pd.Series | None
                     ) -> dict[str, np.ndarray] | None:
    """The history (days from the first customer order loaded to each row's as-of date)
    of the profile columns bounded by it (``HISTORY_BOUNDED``), for the drift check."""
    cols = [c for c in HISTORY_BOUNDED if c in X.columns]
    if as_of is None or not cols:
        return None
    with ctx.read() as con:
        row = con.execute("SELECT min(order_time) FROM orders WHERE customer_id IS NOT NULL"
                          ).fetchone()
    if not row or row[0] is None:
        return None
    return relative_to(pd.Timestamp(row[0]), X, as_of)


def relative_to(first_order: pd.Timestamp | None, X: pd.DataFrame, as_of: pd.Series | None
                ) -> dict[str, np.ndarray] | None:
    """:func:`history_relative` given the first customer order loaded."""
    cols = [c for c in HISTORY_BOUNDED if c in X.columns]
    if first_order is None or as_of is None or not cols:
        return None
    days = ((pd.to_datetime(as_of) - first_order) / pd.Timedelta(days=1)).to_numpy()
    return dict.fromkeys(cols, np.asarray(days, dtype=float))


def _data_end(con: Any, task: str) -> datetime:
    if task == "response":
        if not has_table(con, "sends"):
            raise WarehouseError("table `sends` is missing; ingest campaign sends first")
        row = con.execute("SELECT max(send_time) FROM sends").fetchone()
        what = "sends"
    else:
        row = con.execute("SELECT max(order_time) FROM orders").fetchone()
        what = "orders"
    if not row or row[0] is None:
        raise WarehouseError(f"table `{what}` is empty; ingest it first")
    last: datetime = row[0]
    return datetime(last.year, last.month, last.day) + timedelta(days=1)


def default_as_of_dates(data_end: datetime, horizon_days: int, n: int = 3) -> list[datetime]:
    """``n`` as-of dates spaced by the horizon, the latest one horizon before the data end."""
    latest = data_end - timedelta(days=horizon_days)
    return [latest - timedelta(days=horizon_days * k) for k in range(n - 1, -1, -1)]


def labels_for(ctx: Context, task: str, as_of: datetime, horizon_days: int
               ) -> pd.DataFrame:
    """``customer_id, as_of, label`` of one task at one as-of date (window checked)."""
    # lazy: pulls in scikit-learn/LightGBM/ibis; only this path needs it
    from insightloop.features import labels as lab

    if task not in TASKS:
        raise ConfigError(f"task must be one of {TASKS}, got {task!r}")
    warehouse = ctx.warehouse
    with warehouse.connect(read_only=warehouse.exists) as con:
        end = _data_end(con, task)
        if as_of + timedelta(days=horizon_days) > end:
            raise ConfigError(
                f"as-of {as_of:%Y-%m-%d} + {horizon_days} days ends after the data "
                f"({end:%Y-%m-%d}); the labels would be incomplete. Use an as-of date on or "
                f"before {end - timedelta(days=horizon_days):%Y-%m-%d}"
            )
        backend = warehouse.ibis(con)
        if task == "churn":
            expr = lab.churn_labels(backend.table("orders"), as_of, horizon_days)
        elif task == "propensity":
            expr = lab.purchase_labels(backend.table("orders"), as_of, horizon_days)
        else:
            expr = lab.response_labels(backend.table("sends"), as_of, horizon_days)
        return expr.to_pandas()


def training_set(ctx: Context, task: str, as_of_dates: Sequence[datetime],
                 horizon_days: int, step: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Profiles before each as-of date joined to that date's labels, stacked.

    The context's engine runs the profile pipeline (DuckDB or Spark, same Ibis expression).

    Returns
    -------
    pandas.DataFrame
        Profile columns plus ``label``; one row per (customer, as-of date).
    """
    # lazy: pulls in scikit-learn/LightGBM/ibis; only this path needs it
    from insightloop.services.profiles import compute_profiles

    if not as_of_dates:
        raise ConfigError("give at least one as-of date")
    parts = []
    for as_of in sorted(as_of_dates):
        if step is not None:
            step(f"examples at {as_of:%Y-%m-%d}")
        labels = labels_for(ctx, task, as_of, horizon_days)
        profiles = compute_profiles(ctx, as_of)
        parts.append(profiles.merge(labels[["customer_id", "label"]], on="customer_id",
                                    how="inner", validate="one_to_one"))
    frame = pd.concat(parts, ignore_index=True)
    if frame.empty:
        raise ModelFitError(f"no {task} training examples at as-of {list(map(str, as_of_dates))}:"
                            " no customer had data before those dates")
    return frame


def _fit_and_register(ctx: Context, name: str, X: pd.DataFrame, y: np.ndarray,
                      meta: dict[str, Any], model: str, groups: np.ndarray | None,
                      test: tuple[pd.DataFrame, np.ndarray] | None,
                      absent: dict[str, str] | None = None,
                      relative: dict[str, np.ndarray] | None = None) -> ModelInfo:
    # lazy: pulls in scikit-learn/LightGBM/ibis; only this path needs it
    from insightloop.models.classify.explain import global_importance
    from insightloop.models.classify.metrics import classification_report
    from insightloop.models.classify.pipeline import TabularClassifier

    clf = TabularClassifier(model=model).fit(X, y, groups=groups)
    if test is not None:
        p_test = clf.predict_proba(test[0])[:, 1]
        evaluation = pd.DataFrame({"y": test[1], "p": p_test, "split": "test"})
    else:
        evaluation = clf.oof_[["y", "p"]].assign(split="oof")
    metrics = classification_report(evaluation["y"], evaluation["p"], clf.threshold_)
    metrics["evaluated_on"] = "test" if test is not None else "out-of-fold (inner CV)"
    sample = X.sample(min(len(X), IMPORTANCE_SAMPLE), random_state=0)
    importance = global_importance(clf, sample)
    features = list(clf.feature_names_in_)
    info = clf.describe()
    full_meta = {
        **meta,
        "model": clf.model_,
        "cv_auc": info["cv_auc"],
        "params": info["params"],
        "threshold": clf.threshold_,
        "calibration": info["calibration"],
        "features": {f: clf.encoder_.kinds_[f] for f in features},
        "dropped": {**(absent or {}), **clf.encoder_.dropped_},
        "rows": len(X),
        "positive_rate": float(np.mean(y)),
        "metrics": metrics,
        "importance": importance.head(30).to_dict(orient="records"),
        "training_summary": distribution_summary(X[features], relative=relative),
    }
    return ctx.models.save(name, clf, full_meta, evaluation)


def train_task(ctx: Context, task: str, as_of_dates: Sequence[datetime] | None = None,
               horizon_days: int = 90, name: str | None = None, model: str = "auto",
               test_as_of: datetime | None = None,
               on_step: Callable[[str, int, int], None] | None = None) -> ModelInfo:
    """Train and register a churn / propensity / response model from the warehouse.

    Parameters
    ----------
    ctx : Context
        Warehouse, registry and engine.
    task : {"churn", "propensity", "response"}
        What to predict.
    as_of_dates : sequence of datetime, optional
        Training as-of dates (default: three dates spaced by the horizon, ending one
        horizon before the data end).
    horizon_days : int
        Label window length ``D``.
    name : str, optional
        Registry name (default: the task).
    model : str
        ``auto``, ``lightgbm``, ``logistic`` or ``blend``.
    test_as_of : datetime, optional
        A later as-of date used as a held-out test (metrics are computed on it);
        must be after every training date.
    on_step : callable, optional
        ``on_step(message, done, total)`` before each step (the examples of each as-of
        date, the test examples, the fit), for a progress bar with an ETA.

    Returns
    -------
    ModelInfo
        The registered model's metadata.
    """
    wh = ctx.warehouse
    if task not in TASKS:
        raise ConfigError(f"task must be one of {TASKS}, got {task!r}")
    if horizon_days <= 0:
        raise ConfigError(f"--horizon-days must be positive, got {horizon_days}")
    if ctx.engine.is_spark and is_lake(ctx.settings.warehouse):
        return _train_on_spark(ctx, task, as_of_dates, horizon_days, name, model, test_as_of,
                               on_step)
    with wh.connect(read_only=wh.exists) as con:
        end = _data_end(con, task)
    dates = sorted(as_of_dates) if as_of_dates else default_as_of_dates(
        end if test_as_of is None else test_as_of, horizon_days)
    step = _counter(on_step, len(dates) + (test_as_of is not None) + 1)
    test = None
    if test_as_of is not None:
        if test_as_of <= dates[-1]:
            raise ConfigError(f"test as-of {test_as_of:%Y-%m-%d} must be after the last "
                              f"training as-of {dates[-1]:%Y-%m-%d}")
        overlap = dates[-1] + timedelta(days=horizon_days)
        if overlap > test_as_of:
            raise ConfigError(
                f"training labels of as-of {dates[-1]:%Y-%m-%d} run to {overlap:%Y-%m-%d}, past "
                f"the test as-of {test_as_of:%Y-%m-%d}: train on dates at least "
                f"{horizon_days} days before the test date")
        step(f"test examples at {test_as_of:%Y-%m-%d}")
        test_frame = training_set(ctx, task, [test_as_of], horizon_days)
        test = (feature_frame(test_frame), test_frame["label"].to_numpy())
    frame = training_set(ctx, task, dates, horizon_days, step)
    step(f"fitting {model} on {len(frame):,} examples")
    meta = {
        "task": task, "label": LABELS[task], "target": f"{task} in {horizon_days} days",
        "horizon_days": horizon_days, "as_of_dates": [d.isoformat() for d in dates],
        "test_as_of": test_as_of.isoformat() if test_as_of else None,
        "source": str(ctx.settings.warehouse),
    }
    X, absent = available_features(feature_frame(frame))
    return _fit_and_register(ctx, name or task, X, frame["label"].to_numpy(), meta, model,
                             frame["customer_id"].to_numpy(), test, absent,
                             history_relative(ctx, X, frame["as_of"]))


def _counter(on_step: Callable[[str, int, int], None] | None, total: int
             ) -> Callable[[str], None]:
    """``step(message)``: calls ``on_step(message, steps done, total)``."""
    done = [0]

    def step(message: str) -> None:
        if on_step is not None:
            on_step(message, done[0], max(total, done[0] + 1))
        done[0] += 1

    return step


def _train_on_spark(ctx: Context, task: str, as_of_dates: Sequence[datetime] | None,
                    horizon_days: int, name: str | None, model: str,
                    test_as_of: datetime | None,
                    on_step: Callable[[str, int, int], None] | None) -> ModelInfo:
    """:func:`train_task` with the examples built on the cluster and a bounded, stratified
    sample of them fitted here (:mod:`insightloop.services.spark.training`)."""
    # lazy: pyspark (the optional [spark] extra) only for engine 'spark' over a lake
    from insightloop.services.spark import training as spark_training

    end = spark_training.data_end(ctx, task)
    dates = sorted(as_of_dates) if as_of_dates else default_as_of_dates(
        end if test_as_of is None else test_as_of, horizon_days)
    rows = spark_training.TRAIN_SAMPLE_ROWS
    step = _counter(on_step, 2 + (test_as_of is not None))
    test = None
    if test_as_of is not None:
        if test_as_of <= dates[-1] or dates[-1] + timedelta(days=horizon_days) > test_as_of:
            raise ConfigError(f"test as-of {test_as_of:%Y-%m-%d} must be at least "
                              f"{horizon_days} days after the last training as-of "
                              f"{dates[-1]:%Y-%m-%d}")
        step(f"test examples at {test_as_of:%Y-%m-%d} on the cluster")
        test_frame, _ = spark_training.stratified_sample(
            spark_training.examples_frame(ctx, task, [test_as_of], horizon_days), rows)
        test = (feature_frame(test_frame), test_frame["label"].to_numpy())
    step(f"examples at {len(dates)} as-of dates on the cluster")
    frame, total = spark_training.stratified_sample(
        spark_training.examples_frame(ctx, task, dates, horizon_days), rows)
    step(f"fitting {model} on {len(frame):,} examples")
    meta = {
        "task": task, "label": LABELS[task], "target": f"{task} in {horizon_days} days",
        "horizon_days": horizon_days, "as_of_dates": [d.isoformat() for d in dates],
        "test_as_of": test_as_of.isoformat() if test_as_of else None,
        "source": str(ctx.settings.warehouse), "engine": "spark",
        "examples": total, "sample": (
            f"fitted on all {total:,} examples" if len(frame) == total else
            f"fitted on a stratified sample of {len(frame):,} of {total:,} examples "
            f"(at most {rows:,}; each label keeps its share)"),
    }
    X, absent = available_features(feature_frame(frame))
    return _fit_and_register(ctx, name or task, X, frame["label"].to_numpy(), meta, model,
                             frame["customer_id"].to_numpy(), test, absent,
                             relative_to(spark_training.first_order(ctx), X, frame["as_of"]))


def train_target_file(ctx: Context, path: Path | str, target: str, positive: Any = None,
                      name: str | None = None, drop: Sequence[str] = (), model: str = "auto",
                      as_of: datetime | None = None) -> ModelInfo:
    """Train and register a model for any binary target column a user brings.

    Without ``as_of`` the file's own columns are the features (any table). With
    ``as_of`` the file must hold ``customer_id`` and the target; features are the
    warehouse profiles computed strictly before ``as_of``.
    """
    # lazy: pulls in scikit-learn/LightGBM/ibis; only this path needs it
    from insightloop.models.classify.pipeline import binary_target

    frame = read_table_file(path)
    X, y_raw = split_target(frame, target, drop)
    groups: np.ndarray | None = None
    absent: dict[str, str] = {}
    relative: dict[str, np.ndarray] | None = None
    if as_of is not None:
        # lazy: pulls in scikit-learn/LightGBM/ibis; only this path needs it
        from insightloop.services.profiles import compute_profiles

        if "customer_id" not in X.columns:
            raise SchemaError(f"--as-of joins the file to profiles by `customer_id`, which "
                              f"{path} lacks; columns are {list(frame.columns)}")
        keyed = pd.DataFrame({"customer_id": X["customer_id"].astype(str), "__y": y_raw})
        profiles = compute_profiles(ctx, as_of)
        joined = profiles.merge(keyed, on="customer_id", how="inner")
        if joined.empty:
            raise ModelFitError(f"no customer of {path} has a profile before {as_of:%Y-%m-%d}")
        X, absent = available_features(feature_frame(joined.drop(columns="__y")))
        y_raw, groups = joined["__y"], joined["customer_id"].to_numpy()
        relative = history_relative(ctx, X, joined["as_of"])
    y = binary_target(y_raw, positive)
    meta = {
        "task": "target",
        "label": f"probability of {target} = {1 if positive is None else positive}",
        "target": target, "positive": positive, "source": str(path),
        "as_of_dates": [as_of.isoformat()] if as_of else [], "horizon_days": None,
        "test_as_of": None,
    }
    default = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{Path(path).stem}-{target}").strip("_.-")
    return _fit_and_register(ctx, name or default or "target", X, y, meta, model, groups,
                             None, absent, relative)
