"""Planning services on a synthetic shop with known answers (tests/planning_data.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.capabilities.planning import SERVICE_TYPES, TREND_METHODS
from insightloop.errors import ConfigError, InputFileError, NotFoundError, WarehouseError
from insightloop.models.planning.inventory import normal_policy
from insightloop.services.planning import (
    build_trends,
    inventory_plan,
    inventory_whatif,
    item_forecast,
    read_anomalies,
    read_plan,
    read_trends,
)
from insightloop.services.planning.series import load_panel
from insightloop.storage.warehouse import Warehouse
from planning_data import SPIKE_WEEK, START, WEEKS, make_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shop(tmp_path_factory.mktemp("shop"))


def test_weekly_panel_has_the_complete_weeks(shop: Path) -> None:
    panel = load_panel(ctx_of(shop), "product")
    assert panel.start == START and panel.values.shape == (5, WEEKS)
    flat = panel.values[list(panel.items).index("FLAT")]
    assert flat[SPIKE_WEEK] == 240 and flat[0] == 40
    cat = load_panel(ctx_of(shop), "category")
    assert sorted(cat.items) == ["home", "new", "seasonal"]


def test_trends_year_over_year_find_growth_not_the_season(shop: Path) -> None:
    with pytest.raises(WarehouseError, match="run `insightloop trends build` first"):
        read_trends(ctx_of(shop))
    out = build_trends(ctx_of(shop))
    assert out["levels"] == {"product": "yoy", "category": "yoy", "country": "yoy",
                             "all": "yoy"}
    t = Warehouse(shop).table("trends").set_index(["level", "item"])
    grow = t.loc[("product", "GROW")]
    assert grow["direction"] == "rising" and grow["growth"] == pytest.approx(1.0, abs=0.01)
    assert grow["ci_low"] < 1.0 < grow["ci_high"]
    for flat in ("XMAS", "FLAT", "COAT"):
        assert t.loc[("product", flat), "direction"] == "flat"
        assert t.loc[("product", flat), "growth"] == pytest.approx(0.0, abs=1e-9)
    assert t.loc[("country", "France"), "direction"] == "flat"
    assert t.loc[("category", "new"), "direction"] == "rising"  # the launch lifts it
    rising = read_trends(ctx_of(shop), "product", "rising")
    assert [r["item"] for r in rising] == ["GROW"] and rising[0]["name"] == "GROW item"


def test_anomalies_seasonality_and_ramps(shop: Path) -> None:
    build_trends(ctx_of(shop))
    alerts = read_anomalies(ctx_of(shop), "product")
    spike_day = (START + pd.Timedelta(weeks=SPIKE_WEEK)).date().isoformat()
    assert [(a["item"], a["ds"][:10], a["kind"]) for a in alerts] == [
        ("FLAT", spike_day, "spike")]
    s = Warehouse(shop).query("SELECT * FROM seasonality WHERE item = 'seasonal' AND "
                              "period = 'weekday' ORDER BY position")
    idx = s["index"].to_numpy()
    assert idx[5] == idx[6] == 0  # no weekend sales
    assert idx[0] > idx[1] > idx[3] > 0  # Monday above Tuesday above Thursday
    months = Warehouse(shop).query("SELECT * FROM seasonality WHERE item = 'seasonal' AND "
                                   "period = 'month' ORDER BY position")
    assert months.loc[months["index"].idxmax(), "label"] == "Dec"
    ramps = Warehouse(shop).table("ramps")
    assert ramps["product_id"].tolist() == ["NEW"] and ramps["index"].iloc[0] == 1.0


def test_without_a_product_catalogue_there_is_no_category_level(tmp_path: Path) -> None:
    bare = make_shop(tmp_path / "bare", with_products=False)
    out = build_trends(ctx_of(bare))
    assert set(out["levels"]) == {"product", "country", "all"}
    assert read_trends(ctx_of(bare), "product")[0]["item"] == "GROW"
    assert not load_panel(ctx_of(bare), "category").items.size


def test_trend_method_and_bad_options(shop: Path) -> None:
    out = build_trends(ctx_of(shop), method="trend", window=8)
    assert set(out["levels"].values()) == {"trend"}
    with pytest.raises(ConfigError, match="--window 2"):
        build_trends(ctx_of(shop), window=2)
    with pytest.raises(ConfigError, match="level 'region'"):
        build_trends(ctx_of(shop), levels=("region",))
    with pytest.raises(ConfigError, match="year-over-year needs"):
        build_trends(ctx_of(shop), method="yoy", window=100)
    assert set(TREND_METHODS) == {"auto", "yoy", "trend"}


def test_inventory_plan_from_history_and_stock(shop: Path, tmp_path: Path) -> None:
    stock = tmp_path / "stock.csv"
    stock.write_text("product_id,on_hand\nFLAT,50\nCOAT.0,500\n")
    out = inventory_plan(ctx_of(shop), service_level=0.95, lead_time_weeks=2,
                         stock=str(stock), output=str(tmp_path / "plan.csv"), source="history")
    assert out["products"] == 5 and out["from_history"] == 5 and out["stock_matched"] == 2
    plan = Warehouse(shop).table("inventory_plan").set_index("product_id")
    coat = plan.loc["COAT"]  # 20 a week, no variation: no safety stock
    assert coat["lead_time_demand"] == pytest.approx(40.0)
    assert coat["safety_stock"] == pytest.approx(0.0)
    assert coat["reorder_point"] == 40 and not coat["order_now"]
    # EOQ: D = 20 x 52, K = 50, h = 0.25 x 10
    assert coat["order_quantity"] == np.ceil(np.sqrt(2 * 20 * 52 * 50 / 2.5))
    assert bool(plan.loc["FLAT", "order_now"])  # 50 on hand, ROP above 80
    assert pd.isna(plan.loc["GROW", "on_hand"])
    assert (tmp_path / "plan.csv").exists()
    assert read_plan(ctx_of(shop), product="COAT")[0]["reorder_point"] == 40
    assert [r["product_id"] for r in read_plan(ctx_of(shop), order_now=True)] == ["FLAT"]
    assert set(SERVICE_TYPES) == {"cycle", "fill"}


def test_inventory_plan_from_the_forecast_models(shop: Path) -> None:
    out = inventory_plan(ctx_of(shop), service_level=0.95, lead_time_weeks=2)
    assert out["from_model"] == 5 and out["from_history"] == 0
    plan = Warehouse(shop).table("inventory_plan").set_index("product_id")
    assert set(plan["method"]) == {"model"}
    # COAT sells a constant 20 a week; the paths carry errors pooled across products, so
    # the lead-time demand is near 40, not exact
    assert plan.loc["COAT", "lead_time_demand"] == pytest.approx(40.0, rel=0.1)
    # GROW doubles a year: the models' demand is above its last-year mean (bootstrap's)
    last_year_mean = 50 * 2 ** (np.arange(78, 130) / 52)
    assert plan.loc["GROW", "demand_per_week"] > last_year_mean.mean()


def test_inventory_plan_from_forecasts_matches_the_normal_formula(
        shop: Path, tmp_path: Path) -> None:
    z80 = 1.2815515655446004
    weeks = pd.date_range("2024-07-01", periods=8, freq="7D")
    fc = pd.DataFrame({"unique_id": "GROW", "level": "product", "freq": "W",
                       "measure": "quantity", "ds": weeks, "mean": 100.0,
                       "lo-80": 100 - z80 * 20, "hi-80": 100 + z80 * 20, "model": "test"})
    wh = Warehouse(tmp_path / "copy.duckdb")
    Path(wh.path).write_bytes(Path(shop).read_bytes())
    wh.write_frame("forecasts", fc)
    out = inventory_plan(ctx_of(wh.path), service_level=0.95, lead_time_weeks=4,
                         draws=20_000, items=["GROW"])
    assert out["from_forecast"] == 1 and out["products"] == 1
    row = read_plan(ctx_of(wh.path), product="GROW")[0]
    ref = normal_policy([100.0], [20.0], 4.0, 0.0, 0.95)
    assert row["method"] == "forecast"
    assert row["lead_time_demand"] == pytest.approx(400, rel=0.01)
    assert row["safety_stock"] == pytest.approx(ref["safety_stock"][0], rel=0.08)
    f = item_forecast(ctx_of(wh.path), "GROW")
    assert len(f["forecast"]) == 8 and f["forecast"][0]["mean"] == 100.0
    assert len(f["history"]) == 52


def test_fill_rate_target_needs_less_than_the_same_cycle_service_level(shop: Path) -> None:
    ctx = ctx_of(shop)
    inventory_plan(ctx, service_level=0.99, service_type="fill", source="history")
    fill = Warehouse(shop).table("inventory_plan").set_index("product_id")
    inventory_plan(ctx, service_level=0.99, service_type="cycle", source="history")
    cycle = Warehouse(shop).table("inventory_plan").set_index("product_id")
    assert (fill["service_type"] == "fill").all()
    assert (fill["reorder_point"] <= cycle["reorder_point"]).all()
    assert fill.loc["GROW", "reorder_point"] < cycle.loc["GROW", "reorder_point"]
    # COAT: lead-time demand always 40, Q = 204 (EOQ): a 99% fill rate allows 2.04 units
    # short a cycle, so R = 40 - 2.04 -> 38; the 99% cycle service level needs all 40
    assert fill.loc["COAT", "order_quantity"] == 204
    assert fill.loc["COAT", "reorder_point"] == 38 and cycle.loc["COAT", "reorder_point"] == 40


def test_perishable_orders_the_newsvendor_quantity(shop: Path) -> None:
    # cost 0.6 of the price, no salvage: critical ratio 0.4 / (0.4 + 0.6) = 0.4; COAT's
    # demand over 2 weeks is always 40 (blocks of its flat history): order 40
    out = inventory_plan(ctx_of(shop), lead_time_weeks=2, source="history",
                         perishable=(0.6, 0.0))
    assert out["order_rule"] == "newsvendor"
    plan = Warehouse(shop).table("inventory_plan").set_index("product_id")
    assert plan.loc["COAT", "order_quantity"] == 40
    grow = plan.loc["GROW"]  # below the 95% reorder point: the ratio is 0.4
    assert grow["order_quantity"] < grow["reorder_point"]
    with pytest.raises(ConfigError, match=r"--cost-rate 1\.2"):
        inventory_plan(ctx_of(shop), perishable=(1.2, 0.0))


def test_whatif_grows_with_service_level_and_lead_time(shop: Path) -> None:
    rows = inventory_whatif(ctx_of(shop), (0.8, 0.95), (1.0, 4.0), items=["GROW", "XMAS"])
    # source="history" is the what-if's default: the same plan as inventory_plan's
    assert len(rows) == 4
    ss = {(r["lead_time_weeks"], r["service_level"]): r["safety_stock_units"] for r in rows}
    assert ss[(1.0, 0.8)] < ss[(1.0, 0.95)] < ss[(4.0, 0.95)]
    assert all(r["holding_cost_per_year"] == pytest.approx(0.25 * r["safety_stock_value"])
               for r in rows)


def test_bad_inventory_input_is_one_clear_line(shop: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="between 0 and 1"):
        inventory_plan(ctx_of(shop), service_level=95)
    bad = tmp_path / "bad.csv"
    bad.write_text("product_id,on_hand\nFLAT,10\nGROW,-3\n")
    with pytest.raises(InputFileError, match="row 3, column 'on_hand': '-3'"):
        inventory_plan(ctx_of(shop), stock=str(bad))
    dup = tmp_path / "dup.csv"
    dup.write_text("product_id,on_hand\nFLAT,10\nFLAT.0,3\n")
    with pytest.raises(InputFileError, match="row 3, column 'product_id': 'FLAT' appears"):
        inventory_plan(ctx_of(shop), stock=str(dup))
    with pytest.raises(ConfigError, match="none of the products"):
        inventory_plan(ctx_of(shop), items=["NOPE"])
    with pytest.raises(ConfigError, match=r"--lead-time 60"):
        inventory_plan(ctx_of(shop), lead_time_weeks=60)
    inventory_plan(ctx_of(shop))
    with pytest.raises(NotFoundError, match="not in the inventory plan"):
        read_plan(ctx_of(shop), product="NOPE")
