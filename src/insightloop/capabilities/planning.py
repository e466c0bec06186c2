"""Inventory and market trends: safety stock, reorder points and order quantities from the
forecast distribution; rising and declining products with tested growth, seasonality and
anomalies."""

from __future__ import annotations

from pydantic import Field, StrictFloat, StrictInt, field_validator

from insightloop.capabilities.spec import Capability, Job, Page, Params, Stage, Table, member

#: service-level kinds ``inventory plan`` takes (``models.planning.inventory.ServiceType``)
SERVICE_TYPES = ("cycle", "fill")
#: trend methods (``services.planning.trends.build_trends``)
TREND_METHODS = ("auto", "yoy", "trend")
_TRENDS = "insightloop.services.planning:build_trends"
_PLAN = "insightloop.services.planning:inventory_plan"


class TrendParams(Params):
    window: StrictInt = Field(13, ge=4, le=104, description="weeks compared or regressed")
    method: str = Field("auto", description=f"one of {', '.join(TREND_METHODS)}")
    alpha: StrictFloat = Field(0.05, gt=0, lt=1, description="false discovery rate")

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return member(value, TREND_METHODS)


class InventoryParams(Params):
    service_level: StrictFloat = Field(0.95, gt=0, lt=1,
                                       description="cycle service level or fill rate")
    service_type: str = Field("cycle", description=f"one of {', '.join(SERVICE_TYPES)}")
    lead_time_weeks: StrictFloat | StrictInt = Field(2.0, gt=0, le=52)
    lead_time_sd: StrictFloat | StrictInt = Field(0.0, ge=0, le=52,
                                                  description="lead-time standard deviation")
    holding_cost_rate: StrictFloat = Field(0.25, gt=0, le=5,
                                           description="holding cost a year, share of price")
    order_cost: StrictFloat | StrictInt = Field(50.0, ge=0, description="cost of one order")

    @field_validator("service_type")
    @classmethod
    def _type(cls, value: str) -> str:
        return member(value, SERVICE_TYPES)


CAPABILITY = Capability(
    name="planning",
    summary="Inventory plans and market trends.",
    tables=(
        Table("trends", "none", doc="growth per product, category, country and in total, "
              "with interval, p, BH q and direction"),
        Table("seasonality", "none", doc="weekday and month index and strength per item"),
        Table("anomalies", "none", doc="weeks beyond k robust deviations of a running median"),
        Table("ramps", "product", doc="new products against the median launch curve"),
        Table("ramp_curve", "none", doc="median weekly sales by weeks since launch"),
        Table("inventory_plan", "product",
              doc="safety stock, reorder point and order quantity per product"),
    ),
    jobs=(
        Job("trends", run=_TRENDS, params=TrendParams,
            keep=("levels", "rising", "declining", "tested", "anomalies", "new_products"),
            summary="Rising and declining items, seasonality, anomalies and launch ramps"),
        Job("inventory_plan", run=_PLAN, params=InventoryParams,
            summary="Safety stock, reorder points and order quantities per product"),
    ),
    pages=(
        Page("/trends", "Trends", "Market trends", reports=("trends",),
             missing="No trends yet: run `insightloop trends build`.", order=85),
        Page("/inventory", "Inventory", "Inventory plan", reports=("inventory",),
             missing="No inventory plan yet: run `insightloop inventory plan`.", order=86),
    ),
    demo=(
        Stage("market trends (growth, seasonality, anomalies, launches)", run=_TRENDS,
              key="trends", keep=("levels", "rising", "declining", "tested")),
        Stage("inventory plan (safety stock, reorder points)", run=_PLAN, key="inventory",
              keep=("products", "from_forecast", "from_model", "from_history",
                    "safety_stock_value")),
    ),
)
