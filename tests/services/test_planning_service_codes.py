"""Service codes (postage, fees, manual lines) out of inventory plans and trends: the rule
on Online Retail's codes, the overrides file, and the count reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.cli.main import main
from insightloop.errors import InputFileError
from insightloop.models.planning.service_codes import (
    ServiceCodes,
    read_service_codes,
    service_mask,
)
from insightloop.services.planning.series import Panel, load_panel
from insightloop.services.planning.trends import trend_frame
from insightloop.storage.warehouse import Warehouse
from planning_data import make_shop
from shared_data import shared_file

RETAIL_LIKE = ["85123A", "22423", "84879", "POST", "DOT", "M", "m", "C2", "D", "S",
               "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "B", "gift_0001_20", "DCGSSBOY",
               *[str(20000 + i) for i in range(200)]]


def test_the_rule_on_digit_numbered_codes() -> None:
    mask = service_mask(RETAIL_LIKE)
    services = {c for c, m in zip(RETAIL_LIKE, mask, strict=True) if m}
    assert services == {"POST", "DOT", "M", "m", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE",
                        "CRUK", "PADS", "B", "gift_0001_20"}
    # a shop whose codes are words has no automatic service codes
    assert not service_mask(["GROW", "XMAS", "FLAT", "POST"]).any()
    over = ServiceCodes(add=frozenset({"FLAT"}), keep=frozenset({"POST"}))
    assert service_mask(["GROW", "flat ", "POST"], over).tolist() == [False, True, False]


def test_the_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "codes.txt"
    path.write_text("# shop's own fee lines\nFEE1\n+ wrap \n-POST  # we sell postcards\n")
    assert read_service_codes(path) == ServiceCodes(frozenset({"FEE1", "WRAP"}),
                                                    frozenset({"POST"}))
    path.write_text("FEE1\n-\n")
    with pytest.raises(InputFileError, match="line 2: a sign without a code"):
        read_service_codes(path)


def test_online_retail_service_codes() -> None:
    path = shared_file("online_retail/online_retail.csv")
    codes = pd.read_csv(path, usecols=["StockCode"], dtype=str)["StockCode"].unique()
    found = set(codes[service_mask(codes)])
    assert {"POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK",
            "PADS", "B"} <= found
    assert all(c.upper().startswith("GIFT_") or not any(ch.isdigit() for ch in c)
               or c == "C2" for c in found)
    assert len(found) == 17, sorted(found)  # the 12 above (and "m") and 5 gift vouchers


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shop(tmp_path_factory.mktemp("shop"))


def test_plan_and_trends_leave_service_codes_out(shop: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    codes = tmp_path / "codes.txt"
    codes.write_text("FLAT\n")
    rc = main(["inventory", "plan", "--source", "history", "--service-codes", str(codes),
               "--warehouse", str(shop), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["service_codes_excluded"] == 1 and out["service_codes"] == ["FLAT"]
    plan = Warehouse(shop).table("inventory_plan")
    assert "FLAT" not in set(plan["product_id"]) and "GROW" in set(plan["product_id"])
    rc = main(["trends", "build", "--service-codes", str(codes), "--warehouse", str(shop),
               "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["service_codes_excluded"] == 1
    trends = Warehouse(shop).table("trends")
    assert "FLAT" not in set(trends["item"])
    ctx = ctx_of(shop)
    total = load_panel(ctx, "all", exclude=("FLAT",)).values.sum()
    assert total == pytest.approx(load_panel(ctx, "all", exclude=()).values.sum()
                                  - load_panel(ctx, "product", items=["FLAT"]).values.sum())
    codes.write_text("-\n")
    rc = main(["inventory", "plan", "--service-codes", str(codes), "--warehouse", str(shop)])
    err = capsys.readouterr().err
    assert rc == 2 and "line 1" in err and "Traceback" not in err


def _one_year(rows: dict[str, np.ndarray]) -> Panel:
    return Panel(level="product", items=np.array(list(rows), dtype=object),
                 start=pd.Timestamp("2011-01-03"), step_days=7,
                 values=np.vstack(list(rows.values())))


def test_one_year_christmas_growth_is_seasonal_not_rising() -> None:
    rng = np.random.default_rng(0)
    weeks = 48
    season = np.ones(weeks)
    season[-13:] = np.linspace(1.0, 3.0, 13)  # the whole shop triples towards Christmas
    rows = {f"x{i}": rng.poisson(40 * season).astype(float) for i in range(6)}
    rows["star"] = rng.poisson(40 * season * np.r_[np.ones(weeks - 13),
                                                   np.linspace(1, 4, 13)]).astype(float)
    rows["flat"] = rng.poisson(np.full(weeks, 40.0)).astype(float)
    rows["fading"] = rng.poisson(np.r_[np.full(weeks - 13, 40.0), np.linspace(40, 8, 13)]
                                 ).astype(float)
    t = trend_frame(_one_year(rows), 13, "auto", 0.05, 20.0).set_index("item")
    assert (t.loc[[f"x{i}" for i in range(6)], "direction"] == "seasonal").all()
    # faster than the season: its own season may be stronger; one year cannot tell
    assert t.loc["star", "direction"] == "seasonal"
    assert t.loc["flat", "direction"] == "flat"
    assert t.loc["fading", "direction"] == "declining"  # against the season: kept
    # the same items with no shop-wide swing: the rising item stays rising
    calm = {"star": rows["star"], "flat": rows["flat"],
            **{f"y{i}": rng.poisson(np.full(weeks, 40.0)).astype(float) for i in range(6)}}
    t = trend_frame(_one_year(calm), 13, "auto", 0.05, 20.0).set_index("item")
    assert t.loc["star", "direction"] == "rising"
