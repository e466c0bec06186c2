"""Recommenders behind one contract (see :mod:`insightloop.models.recommend.base`)."""

from __future__ import annotations

from insightloop.models.recommend.base import Popularity, Recommender, make_recommender
from insightloop.models.recommend.content import ContentRecommender, Hybrid
from insightloop.models.recommend.factors import ALS, BPR
from insightloop.models.recommend.linear import EASE
from insightloop.models.recommend.neighbours import SAR, ItemKNN, RP3Beta

MODELS: dict[str, type[Recommender]] = {
    m.name: m for m in (Popularity, ItemKNN, RP3Beta, SAR, EASE, ALS, BPR, ContentRecommender,
                        Hybrid)
}


__all__ = ["MODELS", "Recommender", "make_recommender"]
