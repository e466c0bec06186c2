"""Uplift: who is moved by a contact. Meta-learners fitted on a campaign's randomised sends,
per-customer uplift scores, and the targeting plan under a budget with the exportable
audiences campaigns use."""

from __future__ import annotations

from pydantic import Field, StrictFloat, StrictInt, field_validator

from insightloop.capabilities.spec import Capability, Job, Page, Params, Stage, Table, member

#: learners ``uplift build`` fits (``models.uplift.learners.LEARNERS``; a test checks it)
LEARNERS = ("two_model", "class_transformation", "x", "r", "dr", "linear")
#: outcomes measured after a send (``services.uplift.sends.OUTCOMES``)
OUTCOMES = ("conversion", "revenue", "clv")
_BUILD = "run `insightloop uplift build` (on table sends), then `insightloop uplift plan`"


class UpliftBuildParams(Params):
    campaign_id: str | None = Field(None, max_length=200,
                                    description="the campaign whose sends are used (all: none)")
    outcome: str = Field("conversion", description=f"one of {', '.join(OUTCOMES)}")
    window_days: StrictInt = Field(30, ge=1, le=3650,
                                   description="days after the send the outcome counts")
    horizon_months: StrictInt = Field(12, ge=1, le=120,
                                      description="CLV horizon of outcome 'clv' (months)")
    model: str = Field("two_model", description=f"one of {', '.join(LEARNERS)}")
    control: str = Field("control", max_length=200, description="the control arm's variant")

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, value: str) -> str:
        return member(value, OUTCOMES)

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        return member(value, LEARNERS)


class UpliftPlanParams(Params):
    budget: StrictFloat | StrictInt | None = Field(None, ge=0,
                                                   description="total contact cost allowed")
    value: StrictFloat | StrictInt = Field(1.0, gt=0,
                                           description="value of one conversion")
    cost: StrictFloat | StrictInt = Field(0.0, ge=0, description="cost of one contact")
    top: StrictFloat = Field(0.3, gt=0, lt=1,
                             description="share of customers in the top-uplift audience")


CAPABILITY = Capability(
    name="uplift",
    summary="Uplift models on campaign sends, the targeting plan and its audiences.",
    tables=(
        Table("uplift_scores", "customer", customer="customer_id",
              doc="predicted uplift per customer and treatment arm, sleeping-dog flag"),
        Table("uplift_plan", "customer", customer="customer_id",
              doc="the targeting plan: arm, expected incremental profit, selected, why"),
        Table("uplift_audiences", "customer", customer="customer_id",
              doc="exportable audiences: the plan's selection, the top share by uplift"),
    ),
    jobs=(
        Job("uplift", run="insightloop.services.uplift:build_uplift",
            params=UpliftBuildParams, keep=("name", "version", "model", "sends", "treated",
                                            "customers_scored", "harm_cutoff"),
            summary="Fit an uplift model on the sends and score every customer"),
        Job("uplift_plan", run="insightloop.services.uplift:plan_uplift",
            params=UpliftPlanParams,
            summary="The targeting plan under a budget and its audiences"),
    ),
    pages=(Page("/uplift", "Uplift", "Uplift and targeting", reports=("uplift",),
                missing=f"No uplift model yet: {_BUILD}.", order=75),),
    demo=(Stage("uplift tables (empty: the sample has no campaign sends)",
                run="insightloop.services.uplift:ensure_tables", key="uplift"),),
)
