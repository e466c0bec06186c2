"""Typed results of the bandit service (the API's response models; no model code here, so
the server imports them at start without the statistics packages)."""

from __future__ import annotations

from typing_extensions import TypedDict


class ArmInfo(TypedDict):
    arm: str
    pulls: int
    successes: float
    failures: float
    mean: float
    chance_best: float | None


class BanditInfo(TypedDict):
    id: str
    arms: list[ArmInfo]
    holdout: float
    seed: int
    draws: int
    created_at: str


class Assignment(TypedDict):
    experiment: str
    arm: str
    holdout: bool
    draw: int
