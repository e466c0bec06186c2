"""Recommendation use cases: evaluate on a file, build for every customer, serve one.

* :func:`evaluate_recommend_file` — ``insightloop evaluate recommend`` on any CSV/Parquet
  (:mod:`.evaluation`);
* :func:`build_recommendations` — fit on the warehouse (orders + events + ratings), write
  table ``recommendations`` (customer_id, rank, product_id, score, reason, model) for every
  customer, register the fitted server as model ``recommender`` (:mod:`.build`);
* :func:`load_recommender` / :class:`RecommendationServer` — single-customer calls in
  milliseconds from the registered factors / similarities, cold start through product text
  (``cold_start:content``) or popularity (``cold_start:popularity``) (:mod:`.serving`);
* :func:`basket_rules` — market-basket association rules for cross-sell (:mod:`.rules`).

Reads of files and of the warehouse are in :mod:`.data`, product text embeddings in
:mod:`.embedding`. Every public name stays importable from this package.
"""

from __future__ import annotations

from insightloop.services.recommend.build import RECOMMENDATION_COLUMNS, build_recommendations
from insightloop.services.recommend.data import (
    STOCK_COLUMNS,
    Progress,
    load_catalogue,
    load_interactions,
    read_interactions_file,
)
from insightloop.services.recommend.embedding import EMBEDDERS, embed_texts
from insightloop.services.recommend.evaluation import (
    evaluate_frame,
    evaluate_recommend_file,
    long_frame,
)
from insightloop.services.recommend.rules import basket_rules
from insightloop.services.recommend.serving import (
    MODEL_NAME,
    RecommendationServer,
    load_recommender,
    show_recommendations,
    similar_items,
)

__all__ = [
    "EMBEDDERS", "MODEL_NAME", "RECOMMENDATION_COLUMNS", "STOCK_COLUMNS", "Progress",
    "RecommendationServer", "basket_rules", "build_recommendations", "embed_texts",
    "evaluate_frame", "evaluate_recommend_file", "load_catalogue", "load_interactions",
    "load_recommender", "long_frame", "read_interactions_file", "show_recommendations",
    "similar_items",
]
