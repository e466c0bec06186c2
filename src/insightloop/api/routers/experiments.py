"""Thompson-sampling bandits: create one, read its state, assign units, record rewards.

State lives in the operational store shared by every server worker (not the warehouse),
so these endpoints work with several workers and never wait for a warehouse job.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from insightloop.api.errors import SECURED, responses
from insightloop.api.server import requires, server_of
from insightloop.services.results.experiments import ArmInfo, Assignment, BanditInfo

router = APIRouter()
BanditId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.:-]*$",
                               description="The bandit (experiment) id.")]
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


class BanditRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=100, pattern=NAME)
    arms: list[Annotated[str, Field(min_length=1, max_length=100, pattern=NAME)]] = Field(
        min_length=2, max_length=20, description="Distinct arm names ('holdout' is reserved).")
    holdout: float = Field(0.1, ge=0, le=0.5, description="Share held out at random.")
    seed: int = Field(0, ge=0, lt=2**31, description="Seed of the random stream.")


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: str | None = Field(
        None, min_length=1, max_length=200,
        description="The customer: the same one is always held out, or never. Omit for an "
                    "anonymous unit.")


class RewardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    arm: str = Field(min_length=1, max_length=100, description="The arm that was assigned.")
    reward: float = Field(ge=0, le=1, description="Outcome in [0, 1]: 1 = converted.")


@router.post("/experiments", status_code=201, dependencies=[requires("write")],
             tags=["experiments"], summary="Create a bandit", response_model=BanditInfo,
             responses=responses(*SECURED, 413, 422))
def create(request: Request, body: BanditRequest) -> BanditInfo:
    """Create a Thompson-sampling bandit with a fixed random holdout. The same definition
    again returns it unchanged; another definition under an existing id is a 422."""
    # lazy: the experiments package loads scipy; not at server start
    from insightloop.services.experiments.bandit import create_bandit

    return create_bandit(server_of(request).ctx, body.id, body.arms, body.holdout, body.seed)


@router.get("/experiments/{bandit_id}", dependencies=[requires("read")],
            tags=["experiments"], summary="Bandit state", response_model=BanditInfo,
            responses=responses(*SECURED, 404, 422))
def show(request: Request, bandit_id: BanditId) -> BanditInfo:
    """Pulls, rewards and each arm's chance of being best; 404 for an unknown bandit."""
    # lazy: the experiments package loads scipy; not at server start
    from insightloop.services.experiments.bandit import bandit_state

    return bandit_state(server_of(request).ctx, bandit_id)


@router.post("/experiments/{bandit_id}/assign", dependencies=[requires("write")],
             tags=["experiments"], summary="Assign a unit to an arm", response_model=Assignment,
             responses=responses(*SECURED, 404, 413, 422))
def assign(request: Request, bandit_id: BanditId, body: AssignRequest) -> Assignment:
    """The holdout (fixed per customer) or the arm Thompson sampling draws; every worker
    shares the state, and each assignment is recorded atomically. 404: unknown bandit."""
    # lazy: the experiments package loads scipy; not at server start
    from insightloop.services.experiments.bandit import assign_arm

    return assign_arm(server_of(request).ctx, bandit_id, body.customer_id)


@router.post("/experiments/{bandit_id}/reward", dependencies=[requires("write")],
             tags=["experiments"], summary="Record a reward", response_model=ArmInfo,
             responses=responses(*SECURED, 404, 413, 422))
def reward(request: Request, bandit_id: BanditId, body: RewardRequest) -> ArmInfo:
    """Add an outcome to an arm (atomic). 404: unknown bandit or arm."""
    # lazy: the experiments package loads scipy; not at server start
    from insightloop.services.experiments.bandit import record_reward

    return record_reward(server_of(request).ctx, bandit_id, body.arm, body.reward)
