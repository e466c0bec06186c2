"""Planning API on the synthetic shop (tests/planning_data.py): trends, anomalies, the
inventory plan, one item's forecast (404 for unknown items), and the report pages."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.report.pages import inventory, trends
from insightloop.services.planning import build_trends, inventory_plan
from insightloop.storage.warehouse import Warehouse
from planning_data import SPIKE_WEEK, START, make_shop
from serving_helpers import Api, client_for, copy_warehouse, make_keys


@pytest.fixture(scope="module")
def shop_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    path = make_shop(tmp_path_factory.mktemp("shop_api") / "src")
    ctx = ctx_of(path)
    build_trends(ctx)
    inventory_plan(ctx, source="history")
    weeks = pd.date_range("2024-07-01", periods=4, freq="7D")
    Warehouse(path).write_frame("forecasts", pd.DataFrame({
        "unique_id": "GROW", "level": "product", "ds": weeks, "mean": 100.0,
        "lo-80": 80.0, "hi-80": 120.0, "model": "test"}))
    settings = copy_warehouse(path, tmp_path_factory.mktemp("served") / "wh")
    keys = make_keys(settings)
    with client_for(settings) as client:
        yield Api(client, settings, keys)


def test_trends_anomalies_plan_and_forecast(shop_api: Api) -> None:
    body = shop_api.get("/api/v1/trends?level=product").json()
    assert [(r["item"], r["direction"]) for r in body["rows"]] == [("GROW", "rising")]
    assert body["rows"][0]["growth"] == pytest.approx(1.0, abs=0.01)
    flat = shop_api.get("/api/v1/trends?level=product&direction=flat&top=2").json()["rows"]
    assert len(flat) == 2 and {r["direction"] for r in flat} == {"flat"}
    alerts = shop_api.get("/api/v1/trends/anomalies?level=product").json()["rows"]
    spike = (START + pd.Timedelta(weeks=SPIKE_WEEK)).date().isoformat()
    assert [(a["item"], a["ds"][:10]) for a in alerts] == [("FLAT", spike)]
    rows = shop_api.get("/api/v1/inventory/plan?top=3").json()["rows"]
    assert len(rows) == 3
    assert rows[0]["safety_stock_value"] >= rows[1]["safety_stock_value"]
    coat = shop_api.get("/api/v1/inventory/plan/COAT.0").json()["rows"][0]
    assert coat["product_id"] == "COAT" and coat["reorder_point"] == 40
    assert shop_api.get("/api/v1/inventory/plan/NOPE").status_code == 404
    fc = shop_api.get("/api/v1/trends/items/GROW/forecast").json()
    assert [p["mean"] for p in fc["forecast"]] == [100.0] * 4
    assert fc["forecast"][0]["lo_80"] == 80.0 and len(fc["history"]) == 52
    assert shop_api.get("/api/v1/trends/items/NOPE/forecast").status_code == 404


def test_bad_parameters_are_422_and_keys_are_required(shop_api: Api) -> None:
    assert shop_api.get("/api/v1/trends?level=region").status_code == 422
    assert shop_api.get("/api/v1/trends?top=0").status_code == 422
    assert shop_api.client.get("/api/v1/trends").status_code == 401


def test_page_modules_render_the_tables(shop_api: Api) -> None:
    ctx = ctx_of(shop_api.settings)
    titles = [s.title for s in trends.build(ctx)]
    assert titles[:3] == ["Rising and declining products", "Seasonality", "Anomalies"]
    assert "New-product launches" in titles
    plan = inventory.build(ctx)
    assert plan[0].title == "Inventory plan" and "£" in plan[0].tables_html[0]


def test_dashboard_pages_trends_and_inventory(shop_api: Api) -> None:
    shop_api.client.cookies.clear()
    r = shop_api.client.post("/login", data={"key": shop_api.keys["read"], "next": "/trends"},
                             follow_redirects=False)
    assert r.status_code == 303
    trends_page = shop_api.client.get("/trends")
    assert trends_page.status_code == 200
    assert "Rising and declining products" in trends_page.text and "GROW" in trends_page.text
    assert "Forecast of GROW" in trends_page.text  # the fan from table forecasts
    plan_page = shop_api.client.get("/inventory")
    assert plan_page.status_code == 200 and "Inventory plan" in plan_page.text
    assert "£" in plan_page.text
