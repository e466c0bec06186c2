"""Planning: market trends, anomalies, the inventory plan and one item's forecast (reads of
the tables ``insightloop trends build`` and ``insightloop inventory plan`` write; 409
before they exist)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import AfterValidator

from insightloop.api.errors import READ, responses
from insightloop.api.params import MAX_ID_CHARS, ProductId
from insightloop.api.server import requires, server_of
from insightloop.services.results.planning import (
    AnomalyList,
    ItemForecast,
    PlanList,
    TrendList,
)
from insightloop.storage.ids import normalize_id

router = APIRouter(tags=["planning"])
LevelQ = Annotated[Literal["product", "category", "country", "all"] | None,
                   Query(description="product, category, country or all (default: every "
                                     "level)")]
Top = Annotated[int, Query(ge=1, le=500, description="rows (per direction for trends)")]
Item = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS,
                           description="Product id, category or country."),
                 AfterValidator(normalize_id)]


@router.get("/trends", dependencies=[requires("read")], summary="Rising and declining items",
            response_model=TrendList, responses=responses(*READ, 409, 422))
def trends(request: Request, level: LevelQ = None,
           direction: Literal["rising", "declining", "flat", "seasonal"] | None = None,
           top: Top = 20) -> Any:
    """The strongest movers with growth, 95% interval, p and Benjamini-Hochberg q (rising
    by growth, declining by decline); ``direction`` omitted: rising, then declining."""
    # lazy: the planning package loads scipy and the model code; not at server start
    from insightloop.services.planning import read_trends

    rows = server_of(request).query(read_trends, level, direction, top)
    return {"level": level, "rows": rows}


@router.get("/trends/anomalies", dependencies=[requires("read")],
            summary="Anomalous weeks", response_model=AnomalyList,
            responses=responses(*READ, 409, 422))
def anomalies(request: Request, level: LevelQ = None, top: Top = 50) -> Any:
    """Weeks beyond 4 robust standard deviations of a running median, newest first."""
    # lazy: the planning package loads scipy and the model code; not at server start
    from insightloop.services.planning import read_anomalies

    return {"level": level, "rows": server_of(request).query(read_anomalies, level, top)}


@router.get("/inventory/plan", dependencies=[requires("read")],
            summary="Inventory plan", response_model=PlanList,
            responses=responses(*READ, 409, 422))
def plan(request: Request, top: Top = 100, order_now: bool = False) -> Any:
    """Safety stock, reorder point and order quantity per product, largest safety-stock
    value first; ``order_now`` keeps the products at or below their reorder point."""
    # lazy: the planning package loads scipy and the model code; not at server start
    from insightloop.services.planning import read_plan

    return {"rows": server_of(request).query(read_plan, top, None, order_now)}


@router.get("/inventory/plan/{product_id}", dependencies=[requires("read")],
            summary="One product's inventory plan", response_model=PlanList,
            responses=responses(*READ, 404, 409, 422))
def plan_item(request: Request, product_id: ProductId) -> Any:
    """The plan row of one product; 404 when it is not in the plan."""
    # lazy: the planning package loads scipy and the model code; not at server start
    from insightloop.services.planning import read_plan

    return {"rows": server_of(request).query(read_plan, 1, product_id)}


@router.get("/trends/items/{item}/forecast", dependencies=[requires("read")],
            summary="One item's sales and forecast", response_model=ItemForecast,
            responses=responses(*READ, 404, 409, 422))
def forecast(request: Request, item: Item,
             level: Literal["product", "category", "country", "all"] = "product") -> Any:
    """The last 52 weeks of units and the forecast with its 80% interval (table
    ``forecasts``); 404 when the item has neither."""
    # lazy: the planning package loads scipy and the model code; not at server start
    from insightloop.services.planning import item_forecast

    return server_of(request).query(item_forecast, item, level)
