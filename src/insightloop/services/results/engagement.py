"""Results of the engagement services (eligibility, suppression, send time, journeys)."""

from __future__ import annotations

from typing import TypedDict


class SuppressionResult(TypedDict):
    added: int
    removed: int
    total: int


class ConsentRow(TypedDict):
    channel: str
    purpose: str
    granted: bool
    consent_time: str


class ConsentView(TypedDict):
    customer_id: str
    records: list[ConsentRow]
    current: dict[str, bool]
    eligible: dict[str, str | None]


class SendTimesBuild(TypedDict):
    table: str
    customers: int
    from_customer: int
    from_population: int
    population_hour: int
    prior_strength: float
    events: int
    machine_opens_excluded: int


class SendTimeEvaluation(TypedDict):
    customers: int
    train_events: int
    test_events: int
    split_time: str
    prior_strength: float
    hit_rate: dict[str, float]
    within_1h: dict[str, float]
    mean_abs_hour_error: dict[str, float]
    population_hour: int
    seed: int


class JourneyInfo(TypedDict):
    name: str
    trigger: str
    steps: int
    enabled: bool
    states: dict[str, int]


class TickResult(TypedDict):
    now: str
    entered: int
    advanced: int
    actions: dict[str, int]
    skipped: dict[str, int]
    exited: int
    completed: int
