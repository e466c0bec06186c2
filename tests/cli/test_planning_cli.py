"""``insightloop inventory plan | whatif | show`` and ``insightloop trends build | show`` on
the synthetic shop (tests/planning_data.py): JSON output, tables, one-line errors, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from insightloop.cli.main import main
from planning_data import make_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shop(tmp_path_factory.mktemp("shop_cli"))


def _json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_trends_build_and_show(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trends", "build", "-w", str(shop), "--json"]) == 0
    built = _json(capsys.readouterr().out)
    assert built["levels"]["product"] == "yoy" and built["rising"] >= 1
    assert main(["trends", "show", "-w", str(shop), "--level", "product", "--json"]) == 0
    shown = _json(capsys.readouterr().out)
    assert [(r["item"], r["direction"]) for r in shown["trends"]] == [("GROW", "rising")]
    assert [a["item"] for a in shown["anomalies"]] == ["FLAT"]
    assert main(["trends", "show", "-w", str(shop)]) == 0
    out = capsys.readouterr().out
    assert "GROW" in out and "+100%" in out and "spike FLAT" in out
    assert "not seasonally adjusted" not in out  # year over year: adjusted
    assert main(["trends", "build", "-w", str(shop), "--method", "trend", "--json"]) == 0
    capsys.readouterr()
    assert main(["trends", "show", "-w", str(shop)]) == 0
    assert "not seasonally adjusted" in " ".join(capsys.readouterr().out.split())


def test_inventory_plan_stock_output_and_show(shop: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    stock = tmp_path / "stock.csv"
    stock.write_text("product_id,on_hand\nFLAT,50\nCOAT,500\n")
    out_file = tmp_path / "plan.csv"
    rc = main(["inventory", "plan", "-w", str(shop), "--service-level", "0.9",
               "--lead-time", "2", "--lead-time-sd", "0.5", "--stock", str(stock),
               "--output", str(out_file), "--source", "history", "--json"])
    assert rc == 0
    res = _json(capsys.readouterr().out)
    assert res["products"] == 5 and res["stock_matched"] == 2 and res["order_now"] == 1
    assert res["lead_time_sd"] == 0.5
    written = pd.read_csv(out_file)
    assert len(written) == 5 and written["order_now"].notna().sum() == 2
    assert main(["inventory", "show", "-w", str(shop), "--order-now", "--json"]) == 0
    assert [r["product_id"] for r in _json(capsys.readouterr().out)["rows"]] == ["FLAT"]
    assert main(["inventory", "plan", "-w", str(shop), "--source", "history"]) == 0
    assert "inventory_plan" in capsys.readouterr().out
    assert main(["inventory", "plan", "-w", str(shop), "--source", "history", "--perishable",
                 "--cost-rate", "0.5", "--json"]) == 0
    assert _json(capsys.readouterr().out)["order_rule"] == "newsvendor"


def test_whatif_grid(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["inventory", "whatif", "-w", str(shop), "--service-levels", "0.9,0.99",
               "--lead-times", "1,3", "--item", "GROW", "--json"])
    assert rc == 0
    rows = _json(capsys.readouterr().out)["rows"]
    assert [(r["lead_time_weeks"], r["service_level"]) for r in rows] == [
        (1.0, 0.9), (1.0, 0.99), (3.0, 0.9), (3.0, 0.99)]
    assert rows[0]["safety_stock_units"] < rows[1]["safety_stock_units"]


@pytest.mark.parametrize(("args", "needle"), [
    (["inventory", "plan", "--service-level", "95"], "between 0 and 1"),
    (["inventory", "whatif", "--lead-times", "one"], "numbers separated by commas"),
    (["trends", "show", "--level", "region"], "is not one of"),
    (["inventory", "plan", "--stock", "missing.csv"], "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(shop: Path, args: list[str], needle: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*args, "-w", str(shop)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
