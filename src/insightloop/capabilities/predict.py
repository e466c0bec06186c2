"""Predictive models: churn, purchase propensity and campaign response, trained on
point-in-time snapshots of the warehouse, registered, and scored with reasons."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, StrictInt, field_validator

from insightloop.capabilities.spec import (
    Capability,
    Columns360,
    Job,
    Page,
    Params,
    Product360,
    Stage,
    Table,
    member,
)
from insightloop.errors import ConfigError

#: What ``insightloop train`` and the train job fit (``services.training`` reads it here).
TASKS = ("churn", "propensity", "response")
_MODEL_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(:[vV]?[0-9]{1,6})?$")


class TrainParams(Params):
    task: str = Field("churn", description=f"one of {', '.join(TASKS)}")
    horizon_days: StrictInt = Field(90, ge=1, le=3650, description="label horizon in days")

    @field_validator("task")
    @classmethod
    def _task(cls, value: str) -> str:
        return member(value, TASKS)


class ScoreParams(Params):
    # ``model`` in a request; the scoring service's argument is ``ref``.
    ref: str = Field("churn", alias="model", max_length=80,
                     description="a registered model: NAME or NAME:VERSION")

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str) -> str:
        if not _MODEL_REF.match(value):
            raise ValueError(f"{value[:80]!r} is not a model reference: use NAME or "
                             "NAME:VERSION of a model listed by `insightloop models list`")
        return value


def check_registered(ctx: Any, ref: str) -> None:
    """Refuse a score job for a model the context's model store does not hold."""
    known = tuple(sorted({str(m["name"]) for m in ctx.models.list()}))
    if ref.split(":")[0] not in known:
        raise ConfigError(f"params.model: {ref[:80]!r} is not a registered model; "
                          f"use one of: {', '.join(known) or 'none (train one first)'}")


CAPABILITY = Capability(
    name="predict",
    summary="Churn, propensity and response models: train, register, score with reasons.",
    tables=(
        Table("scores", "customer", customer="customer_id",
              doc="one row per customer and scored model, with reasons"),
        Table("drift", "none", doc="feature drift (PSI) at each scoring run"),
    ),
    jobs=(
        Job("train", run="insightloop.services.training:train_task", params=TrainParams,
            keep=("name", "version", "model", "metrics", "rows"),
            summary="Train and register a churn/propensity/response model"),
        Job("score", run="insightloop.services.scoring:score_warehouse", params=ScoreParams,
            check="insightloop.capabilities.predict:check_registered",
            summary="Score every customer with a registered model"),
    ),
    pages=(Page("/models", "Models", "Predictive models", reports=("predictive",),
                missing="No scored model yet: run `insightloop train churn` then "
                        "`insightloop score`.", order=70),),
    customer_360=(Columns360("scores", ("score", "version", "reasons"), pivot="model"),),
    # Ranks whom to win back first: churn probability x predicted 12-month CLV (value's).
    derived_360=(Product360("value_at_risk", ("churn_score", "clv"),
                            doc="churn probability x predicted CLV"),),
    demo=(
        Stage("training a 90-day churn model", run="insightloop.services.training:train_task",
              args=(("task", "churn"), ("horizon_days", 90)),
              keep=("name", "version", "model", "metrics", "as_of_dates", "rows")),
        Stage("scoring churn risk with reasons",
              run="insightloop.services.scoring:score_warehouse", args=(("ref", "churn"),)),
    ),
)
