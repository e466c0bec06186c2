"""insightloop.models layer.

:data:`ESTIMATORS` lists every model family: each follows scikit-learn's estimator contract
(``__init__`` stores parameters, ``fit`` returns self, fitted state in ``*_`` attributes,
``get_params``/``set_params``, :func:`sklearn.base.clone`) and is saved by
:mod:`insightloop.models.artifacts` (arrays + JSON). A new family is one line here (plus
its data in ``tests/models/test_estimator_contract.py``, which checks every entry).
Classes are named, not imported, so importing one model never loads the others.
"""

from __future__ import annotations

import importlib

#: family -> "module:Class"
ESTIMATORS: dict[str, str] = {
    "clv.bgnbd": "insightloop.models.clv.bgnbd:BetaGeoModel",
    "clv.mbgnbd": "insightloop.models.clv.mbgnbd:ModifiedBetaGeoModel",
    "clv.pareto_nbd": "insightloop.models.clv.pareto_nbd:ParetoNBDModel",
    "clv.gamma_gamma": "insightloop.models.clv.gamma_gamma:GammaGammaModel",
    "segmentation": "insightloop.models.segmentation:CustomerSegmenter",
    "classify": "insightloop.models.classify.pipeline:TabularClassifier",
    "classify.encoder": "insightloop.models.classify.typing:TableEncoder",
    "sentiment": "insightloop.models.sentiment.classifier:SentimentClassifier",
    "recommend.popularity": "insightloop.models.recommend.base:Popularity",
    "recommend.itemknn": "insightloop.models.recommend.neighbours:ItemKNN",
    "recommend.rp3beta": "insightloop.models.recommend.neighbours:RP3Beta",
    "recommend.sar": "insightloop.models.recommend.neighbours:SAR",
    "recommend.ease": "insightloop.models.recommend.linear:EASE",
    "recommend.als": "insightloop.models.recommend.factors:ALS",
    "recommend.bpr": "insightloop.models.recommend.factors:BPR",
    "recommend.content": "insightloop.models.recommend.content:ContentRecommender",
    "recommend.hybrid": "insightloop.models.recommend.content:Hybrid",
    "uplift.two_model": "insightloop.models.uplift.learners:TwoModelUplift",
    "uplift.class_transformation": "insightloop.models.uplift.learners:ClassTransformationUplift",
    "uplift.x": "insightloop.models.uplift.learners:XLearnerUplift",
    "uplift.r": "insightloop.models.uplift.learners:RLearnerUplift",
    "uplift.dr": "insightloop.models.uplift.learners:DRLearnerUplift",
    "uplift.linear": "insightloop.models.uplift.learners:LinearUplift",
}


def estimator_class(family: str) -> type:
    """The class of a family of :data:`ESTIMATORS`."""
    module, _, name = ESTIMATORS[family].partition(":")
    cls: type = getattr(importlib.import_module(module), name)
    return cls
