"""Recommendations: collaborative, content and hybrid recommenders chosen on a validation
split, every customer ranked (cold start included), basket rules."""

from __future__ import annotations

from pydantic import Field, field_validator

from insightloop.capabilities.spec import Capability, Job, Page, Params, Stage, Table, member

#: The registry name of the trained recommender (the serving store's fingerprint reads its
#: version without loading the model code).
MODEL_NAME = "recommender"
#: Recommender families (the keys of ``models.recommend.MODELS``; a test checks it).
MODELS = ("popularity", "itemknn", "rp3beta", "sar", "ease", "als", "bpr", "content", "hybrid")
#: Product text embedders (``services.recommend`` validates against this tuple).
EMBEDDERS = ("use", "tfidf", "none")


class RecommendParams(Params):
    model: str = Field("auto", description="auto (chosen on a validation split) or a family")
    embedder: str = Field("tfidf", description=f"one of {', '.join(EMBEDDERS)}")

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        return member(value, ("auto", *sorted(MODELS)))

    @field_validator("embedder")
    @classmethod
    def _embedder(cls, value: str) -> str:
        return member(value, EMBEDDERS)


CAPABILITY = Capability(
    name="recommend",
    summary="Product recommendations for every customer, similar items, basket rules.",
    tables=(Table("recommendations", "customer", customer="customer_id",
                  doc="top products per customer with the reason"),),
    jobs=(Job("recommendations", run="insightloop.services.recommend:build_recommendations",
              params=RecommendParams, summary="Fit the recommender and rank every customer"),),
    pages=(Page("/recommendations", "Recommendations", "Recommendation explorer",
                reports=("g_recommend",), missing="Recommendations are not built yet: run "
                "`insightloop recommend build`.", order=40, custom=True),),
    demo=(Stage("building recommendations (model chosen on a validation split)",
                run="insightloop.services.recommend:build_recommendations",
                args=(("model", "auto"), ("embedder", "tfidf")), omit=("selection",)),),
)
