"""`insightloop evaluate recommend`: hold-out ranking metrics of a model on any file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import pandas as pd

from insightloop.errors import ConfigError, InputFileError
from insightloop.features.interactions import as_str_ids, interactions_from_frame, to_timestamps
from insightloop.models.recommend import make_recommender
from insightloop.models.recommend.selection import holdout_metrics, select_model
from insightloop.models.recommend.split import split_interactions
from insightloop.services.recommend.data import (
    Progress,
    StepProgress,
    Steps,
    auto_trials,
    read_interactions_file,
)
from insightloop.services.results import RecommendEvaluation


def evaluate_recommend_file(path: Path | str, user: str, item: str, time_col: str | None = None,
                            weight: str | None = None, split: str = "stratified",
                            test_ratio: float = 0.25, seed: int = 42, k: int = 10,
                            model: str = "auto", on_progress: Progress | None = None,
                            half_life_days: float | None = None,
                            on_step: StepProgress | None = None) -> RecommendEvaluation:
    """Hold-out ranking metrics of one model (or ``auto``) on an interaction file.

    Returns ``{"model", "users", "items", "precision@k", "recall@k", "ndcg@k", "map@k",
    "coverage", "fit_seconds"}``; ``fit_seconds`` includes the model search for ``auto``.
    ``on_step(message, done, total)`` counts the steps (reading, each validation trial of
    ``auto``, the fit, the metrics) for a progress bar with an ETA.
    """
    say = Steps(on_progress, on_step, 3 + auto_trials(model, False))
    say(f"reading {path}")
    raw = read_interactions_file(path)
    cols = [str(c) for c in raw.columns]
    for name in (user, item, time_col, weight):
        if name is not None and name not in cols:
            raise InputFileError(f"column {name!r} is not in {path}; columns are {cols}")
    return evaluate_frame(raw, user, item, time_col, weight, split, test_ratio, seed, k, model,
                          say, half_life_days=half_life_days)


def evaluate_frame(raw: pd.DataFrame, user: str, item: str, time_col: str | None = None,
                   weight: str | None = None, split: str = "stratified",
                   test_ratio: float = 0.25, seed: int = 42, k: int = 10, model: str = "auto",
                   on_progress: Progress | None = None, params: dict[str, Any] | None = None,
                   item_vectors: pd.DataFrame | None = None,
                   half_life_days: float | None = None) -> RecommendEvaluation:
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
    say = on_progress or (lambda _m: None)
    say(f"fitting {label} on {inter.nnz:,} interactions")
    rec.fit(inter)
    fit_seconds = time.perf_counter() - start
    say(f"ranking {k} products for the test users")
    metrics = holdout_metrics(rec, inter, test, k)
    return cast(RecommendEvaluation, {
        "model": label, "users": metrics["users"], "items": inter.n_items,
        **{key: metrics[key] for key in (f"precision@{k}", f"recall@{k}", f"ndcg@{k}",
                                         f"map@{k}", "coverage")},
        "fit_seconds": round(fit_seconds, 3)})


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
