"""Forecasting services: demand series from orders (returns, gaps, an incomplete last week),
table ``forecasts`` with reconciled levels, ``forecast build|show`` on the bundled sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.cli.main import main
from insightloop.errors import ConfigError, WarehouseError
from insightloop.services.forecast import build_forecasts, demand_series, show_forecasts
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    """Two products, 4 full weeks (Mon 2023-01-02 ..) and a Wednesday in week 5."""
    rows = [
        ("o1", "A", 5, "2023-01-02 10:00"), ("o2", "A", 3, "2023-01-04 10:00"),
        ("o3", "A", -20, "2023-01-10 10:00"), ("o4", "A", 4, "2023-01-11 10:00"),
        ("o5", "A", 6, "2023-01-24 10:00"), ("o6", "B", 2, "2023-01-17 09:00"),
        ("o7", "A", 9, "2023-02-01 12:00"),
    ]
    frame = pd.DataFrame(rows, columns=["order_id", "product_id", "quantity", "order_time"])
    frame["unit_price"] = 2.0
    frame["country"] = ["UK", "UK", "UK", "FR", "FR", "UK", "UK"]
    csv = tmp_path / "orders.csv"
    frame.to_csv(csv, index=False)
    path = tmp_path / "wh.duckdb"
    ingest_file(Warehouse(path), "orders", csv)
    return path


def test_demand_series_rules(tiny: Path) -> None:
    s = demand_series(ctx_of(tiny), "product", "W")
    frame = s["frame"].sort_values(["unique_id", "ds"])
    a = frame[frame.unique_id == "A"]
    # week 1: 5 + 3; week 2: 4 - 20 -> floored at 0; week 4: 6; week 5 (incomplete) dropped
    assert list(a["y"]) == [8.0, 0.0, 6.0]
    assert list(a["ds"].dt.strftime("%Y-%m-%d")) == ["2023-01-02", "2023-01-09", "2023-01-23"]
    assert s["negative_floored"] == 1 and s["dropped_last_period"] == "2023-01-30"
    assert any("incomplete" in n for n in s["notes"])
    rev = demand_series(ctx_of(tiny), "country", "W", "revenue")["frame"]
    fr = rev[rev.unique_id == "FR"].sort_values("ds")
    assert list(fr["y"]) == [8.0, 12.0]
    total = demand_series(ctx_of(tiny), "total", "M")["frame"]
    assert list(total["y"]) == [0.0]  # January nets to 5+3-20+4+6+2 = 0; February incomplete
    with pytest.raises(ConfigError, match="level 'sku'"):
        demand_series(ctx_of(tiny), "sku")


def test_build_reconciled_country_and_total(wh: Path) -> None:
    ctx = ctx_of(wh)
    built = build_forecasts(ctx, "country", "W", horizon=4, reconcile="mint")
    assert built["stored"] and built["series"] >= 10
    table = Warehouse(wh).table("forecasts")
    assert set(table["level"]) == {"country", "total"}
    sums = table[table.level == "country"].groupby("ds")["mean"].sum()
    total = table[table.level == "total"].set_index("ds")["mean"]
    np.testing.assert_allclose(sums.sort_index(), total.sort_index(), rtol=1e-9)
    assert (table["lo-80"] <= table["mean"]).all() and (table["mean"] <= table["hi-80"]).all()
    assert table["model"].str.endswith("+mint").all()
    again = build_forecasts(ctx, "country", "W", horizon=4, model="theta")
    table = Warehouse(wh).table("forecasts")  # the country rows were replaced, total kept
    assert (table[table.level == "country"]["model"] == "theta").all()
    assert len(table[table.level == "total"]) == 4 and again["rows"] == again["series"] * 4
    shown = show_forecasts(ctx, level="total")
    assert len(shown["rows"]) == 4 and {lv["level"] for lv in shown["levels"]} == {
        "country", "total"}
    with pytest.raises(WarehouseError, match="no forecast for 'Atlantis'"):
        show_forecasts(ctx, unique_id="Atlantis")


def test_show_without_forecasts_names_the_command(wh: Path) -> None:
    with pytest.raises(WarehouseError, match="insightloop forecast build"):
        show_forecasts(ctx_of(wh))


def test_forecast_build_and_show_cli(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["forecast", "build", "--level", "total", "--horizon", "3", "--warehouse",
               str(wh), "--json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["series"] == 1 and res["rows"] == 3
    rc = main(["forecast", "show", "--warehouse", str(wh)])
    out = capsys.readouterr().out
    assert rc == 0 and "total (W, quantity)" in out
    rc = main(["forecast", "build", "--level", "planet", "--warehouse", str(wh)])
    err = capsys.readouterr().err
    assert rc == 2 and "level 'planet'" in err and "Traceback" not in err


def test_holidays_and_campaign_days(tiny: Path, tmp_path: Path) -> None:
    from insightloop.services.forecast.calendar import easter, holidays, known_inputs

    assert list(easter(np.array([2011, 2024])).strftime("%Y-%m-%d")) == ["2011-04-24",
                                                                         "2024-03-31"]
    days = set(holidays(np.array([2011])).strftime("%m-%d"))
    assert {"01-01", "04-22", "04-25", "05-02", "05-30", "08-29", "12-25", "12-26"} == days
    camp = tmp_path / "campaigns.csv"
    pd.DataFrame({"campaign_id": ["c1", "c2"], "start_time": ["2023-01-03", "2023-01-05"],
                  "end_time": ["2023-01-06", "2023-01-10"]}).to_csv(camp, index=False)
    ingest_file(Warehouse(tiny), "campaigns", camp)
    weeks = pd.date_range("2022-12-26", periods=3, freq="7D")
    inputs = known_inputs(ctx_of(tiny), weeks, "W")
    assert list(inputs["holidays"]) == [2.0, 0.0, 0.0]        # Dec 26 and Jan 1 (UK data)
    assert list(inputs["campaign_days"]) == [0.0, 6.0, 2.0]   # Jan 3-8, then Jan 9-10
