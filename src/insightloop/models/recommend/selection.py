"""Hold-out evaluation and model selection without peeking at the test data.

:func:`holdout_metrics` fits nothing: it ranks every test user's unseen items with a fitted
model and scores the list against the held-out items. :func:`select_model` receives the
*training* interactions only, carves a validation split out of them with the same splitter,
tries each (model, parameters) of a small grid and returns the best by nDCG@k.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from insightloop.errors import ModelFitError
from insightloop.features.interactions import Interactions, interactions_from_frame
from insightloop.models.recommend import make_recommender
from insightloop.models.recommend.base import Recommender
from insightloop.models.recommend.metrics import ranking_metrics
from insightloop.models.recommend.split import split_interactions

log = logging.getLogger(__name__)
Progress = Callable[[str], None]

#: the grid ``auto`` searches (kept small: every entry is one fit on the validation split).
DEFAULT_GRID: list[tuple[str, dict[str, Any]]] = [
    ("popularity", {}),
    ("itemknn", {"similarity": "cosine"}),
    ("itemknn", {"similarity": "cosine", "neighbours": 50, "shrink": 10.0}),
    ("rp3beta", {"alpha": 1.0, "beta": 0.3}),
    ("rp3beta", {"alpha": 1.0, "beta": 0.5}),
    ("ease", {"l2": 100.0}),
    ("ease", {"l2": 250.0}),
    ("ease", {"l2": 600.0}),
    ("als", {"factors": 32, "regularization": 0.1, "alpha": 5.0}),
    ("als", {"factors": 64, "regularization": 0.1, "alpha": 2.0}),
    ("bpr", {"factors": 100, "learning_rate": 0.01, "regularization": 0.01}),
]
#: content weights tried on top of the best collaborative model when item text exists.
HYBRID_WEIGHTS = (0.05, 0.2)


@dataclass
class Selection:
    """Outcome of :func:`select_model`."""

    name: str
    params: dict[str, Any]
    metric: str
    score: float
    trials: list[dict[str, Any]] = field(default_factory=list)

    def make(self, item_vectors: pd.DataFrame | None = None) -> Recommender:
        params = dict(self.params)
        if self.name in ("hybrid", "content"):
            params["item_vectors"] = item_vectors
        return make_recommender(self.name, **params)


def holdout_metrics(model: Recommender, train: Interactions, test: pd.DataFrame, k: int = 10
                    ) -> dict[str, Any]:
    """Metrics at ``k`` of a model fitted on ``train`` against ``test`` (user, item) pairs.

    Test users or items absent from training cannot be ranked and are left out (the
    Microsoft Recommenders protocol evaluates users present in both splits).
    """
    rel = train.restrict(test)
    users = np.flatnonzero(np.diff(rel.matrix.indptr) > 0)
    if len(users) == 0:
        raise ModelFitError("no test user has a test item that also appears in training; "
                            "nothing can be evaluated")
    idx, _ = model.recommend_idx(users, k, exclude_seen=True)
    out: dict[str, Any] = {"users": len(users)}
    out.update(ranking_metrics(idx, rel.matrix[users], k, train.n_items))
    return out


def select_model(train: pd.DataFrame, *, split: str = "stratified", test_ratio: float = 0.25,
                 k: int = 10, seed: int = 42,
                 grid: list[tuple[str, dict[str, Any]]] | None = None,
                 item_vectors: pd.DataFrame | None = None,
                 on_progress: Progress | None = None) -> Selection:
    """Pick a model and its parameters on a validation split of ``train`` only.

    Parameters
    ----------
    train : DataFrame
        Columns ``user``, ``item``, ``weight`` (and ``time`` for time-based splits): the
        training interactions. The test data is never an argument.
    grid : list of (name, params), optional
        Candidates (default :data:`DEFAULT_GRID`).
    item_vectors : DataFrame, optional
        Item text embeddings; when given, hybrids of the best model are tried too.

    When the best model is EASE and the interaction weights vary (counts, event kinds, time
    decay), EASE scoring from the weighted history is tried as well.
    """
    say = on_progress or (lambda _m: None)
    fit_part, valid = split_interactions(train, split, test_ratio, seed + 1)
    if fit_part.empty or valid.empty:
        raise ModelFitError("too few interactions to carve a validation split for --model auto")
    inter = interactions_from_frame(fit_part, weight="weight" if "weight" in fit_part else None)
    metric = f"ndcg@{k}"
    trials: list[dict[str, Any]] = []

    def trial(name: str, params: dict[str, Any]) -> float:
        say(f"validating {name} {params}")
        start = time.perf_counter()
        model = make_recommender(name, **params)
        model.fit(inter)
        score = float(holdout_metrics(model, inter, valid, k)[metric])
        shown = {kk: v for kk, v in params.items() if kk != "item_vectors"}
        trials.append({"model": name, "params": shown, metric: score,
                       "seconds": round(time.perf_counter() - start, 3)})
        return score

    for name, params in grid or DEFAULT_GRID:
        trial(name, params)
    best = max(trials, key=lambda t: t[metric])
    weights = fit_part.get("weight")
    if best["model"] == "ease" and weights is not None and weights.nunique() > 1:
        trial("ease", {**best["params"], "history": "weighted"})  # recency/intensity matter
        best = max(trials, key=lambda t: t[metric])
    if item_vectors is not None and best["model"] != "popularity":
        for w in HYBRID_WEIGHTS:
            trial("hybrid", {"base": best["model"], "base_params": best["params"],
                             "content_weight": w, "item_vectors": item_vectors})
        best = max(trials, key=lambda t: t[metric])
    log.info("auto selection: %s %s (%s %.4f)", best["model"], best["params"], metric,
             best[metric])
    return Selection(best["model"], dict(best["params"]), metric, float(best[metric]), trials)
