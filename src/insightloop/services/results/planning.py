"""Typed results of the planning services (inventory plans, what-if grids, market trends)
and the rows the planning API sends; no model code here, so the server imports them at
start without the statistics packages."""

from __future__ import annotations

from typing_extensions import TypedDict


class InventoryPlanBuilt(TypedDict):
    table: str
    products: int
    from_forecast: int
    from_model: int
    from_history: int
    service_level: float
    service_type: str
    lead_time_weeks: float
    lead_time_sd: float
    safety_stock_value: float
    order_now: int
    stock_matched: int | None
    output: str | None
    order_rule: str
    service_codes_excluded: int
    service_codes: list[str]


class WhatIfRow(TypedDict):
    service_level: float
    lead_time_weeks: float
    products: int
    safety_stock_units: float
    safety_stock_value: float
    holding_cost_per_year: float
    safety_stock_units_normal: float


class TrendsBuilt(TypedDict):
    tables: list[str]
    levels: dict[str, str]
    window_weeks: int
    rising: int
    declining: int
    tested: int
    anomalies: int
    new_products: int
    weeks: int
    service_codes_excluded: int
    seasonal_one_year: int


class TrendRow(TypedDict):
    item: str
    level: str
    name: str | None
    method: str
    recent: float
    prior: float | None
    growth: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    q: float | None
    direction: str


class AnomalyRow(TypedDict):
    item: str
    level: str
    ds: str
    actual: float
    expected: float
    z: float
    kind: str


class PlanRow(TypedDict):
    product_id: str
    method: str
    demand_per_week: float
    lead_time_demand: float
    safety_stock: float
    reorder_point: float
    order_quantity: float | None
    safety_stock_normal: float | None
    reorder_point_normal: float | None
    unit_cost: float | None
    safety_stock_value: float | None
    on_hand: float | None
    order_now: bool | None
    service_level: float
    service_type: str
    lead_time_weeks: float
    lead_time_sd: float


class ForecastPoint(TypedDict):
    ds: str
    mean: float
    lo_80: float | None
    hi_80: float | None
    model: str | None


class ItemForecast(TypedDict):
    item: str
    level: str
    history: list[dict[str, float | str]]
    forecast: list[ForecastPoint]


class TrendList(TypedDict):
    level: str | None
    rows: list[TrendRow]


class AnomalyList(TypedDict):
    level: str | None
    rows: list[AnomalyRow]


class PlanList(TypedDict):
    rows: list[PlanRow]
