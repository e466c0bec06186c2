"""Recommenders behind one contract (see :mod:`insightloop.models.recommend.base`)."""

from __future__ import annotations

from typing import Any

from insightloop.errors import ConfigError
from insightloop.models.recommend.base import Popularity, Recommender
from insightloop.models.recommend.content import ContentRecommender, Hybrid
from insightloop.models.recommend.factors import ALS, BPR
from insightloop.models.recommend.linear import EASE
from insightloop.models.recommend.neighbours import SAR, ItemKNN, RP3Beta

MODELS: dict[str, type[Recommender]] = {
    m.name: m for m in (Popularity, ItemKNN, RP3Beta, SAR, EASE, ALS, BPR, ContentRecommender,
                        Hybrid)
}


def make_recommender(name: str, **params: Any) -> Recommender:
    """A model by name (``popularity``, ``itemknn``, ``rp3beta``, ``sar``, ``ease``, ``als``,
    ``bpr``, ``content``, ``hybrid``)."""
    if name not in MODELS:
        raise ConfigError(f"unknown recommender {name!r}; choose one of "
                          f"{sorted(MODELS)} or 'auto'")
    return MODELS[name](**params)


__all__ = ["MODELS", "Recommender", "make_recommender"]
