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

Modules: :mod:`.model` (loading, text scoring), :mod:`.scoring` (warehouse reviews),
:mod:`.insights` (satisfaction, trend), :mod:`.topics`, :mod:`.labelled` (evaluate and
train on labelled files), :mod:`.aspects` (aspect sentiment against labelled mentions),
:mod:`.demo` (the demo's reviews). Every public name stays
importable from this package.
"""

from __future__ import annotations

from insightloop.features.sentiment import customer_sentiment_features
from insightloop.services.sentiment.aspects import evaluate_aspects, read_aspect_labels
from insightloop.services.sentiment.demo import REVIEWS_SAMPLE, demo_reviews, ingest_demo_reviews
from insightloop.services.sentiment.insights import (
    BY,
    product_insights,
    satisfaction,
    sentiment_trend,
)
from insightloop.services.sentiment.labelled import (
    NEGATIVE,
    POSITIVE,
    evaluate_file,
    read_labelled,
    train_model,
)
from insightloop.services.sentiment.model import (
    _CACHE,
    BATCH,
    DEFAULT_KIND,
    PACKAGED_BASELINE,
    PACKAGED_E5,
    PACKAGED_FILES,
    PACKAGED_MODEL,
    USER_MODEL,
    ProgressFn,
    load_sentiment_model,
    model_path,
    packaged_model_path,
    score_texts,
)
from insightloop.services.sentiment.scoring import score_reviews
from insightloop.services.sentiment.topics import discover_topics, list_topics

__all__ = [
    "BATCH", "BY", "DEFAULT_KIND", "NEGATIVE", "PACKAGED_BASELINE", "PACKAGED_E5",
    "PACKAGED_FILES", "PACKAGED_MODEL", "POSITIVE", "REVIEWS_SAMPLE", "USER_MODEL", "_CACHE",
    "ProgressFn", "customer_sentiment_features", "demo_reviews", "discover_topics",
    "evaluate_aspects", "evaluate_file", "ingest_demo_reviews", "list_topics",
    "load_sentiment_model", "model_path", "packaged_model_path", "product_insights",
    "read_aspect_labels", "read_labelled", "satisfaction", "score_reviews", "score_texts",
    "sentiment_trend", "train_model",
]
