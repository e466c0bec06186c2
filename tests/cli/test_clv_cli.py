"""CLI: ``insightloop evaluate clv`` and ``insightloop clv build``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.cli.main import main
from shared_data import shared_file

KEYS = {"customers", "actual_total", "predicted_total", "mae", "rmse", "corr", "naive_mae"}


def _cdnow(name: str) -> Path:
    return shared_file(f"cdnow/{name}")


def _one_json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


@pytest.mark.slow
def test_evaluate_clv_master_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["evaluate", "clv", "--data", str(_cdnow("CDNOW_master.txt")),
               "--customer", "customer_id", "--time", "date", "--amount", "dollar_value",
               "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30",
               "--sep", "whitespace", "--date-format", "%Y%m%d", "--json"])
    assert rc == 0
    res = _one_json(capsys.readouterr().out)
    assert set(res) >= KEYS
    assert res["mae"] < 0.819
    assert res["naive_mae"] == pytest.approx(1.038, abs=0.01)
    assert res["predicted_vs_actual_pct"] > -15.5
    assert {"p_alive_auc", "recency_auc", "frequency_auc", "param_summary"} <= set(res)


def test_evaluate_clv_bgnbd_anchor(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["evaluate", "clv", "--data", str(_cdnow("CDNOW_master.txt")),
               "--customer", "customer_id", "--time", "date", "--amount", "dollar_value",
               "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30",
               "--model", "bgnbd", "--json"])
    assert rc == 0
    res = _one_json(capsys.readouterr().out)
    assert res["predicted_total"] == pytest.approx(16874, abs=2)
    assert res["actual_total"] == 19684
    assert res["mae"] == pytest.approx(0.819, abs=1e-3)
    assert res["rmse"] == pytest.approx(1.733, abs=1e-3)
    assert res["corr"] == pytest.approx(0.669, abs=1e-3)


def test_evaluate_clv_missing_column(capsys: pytest.CaptureFixture[str]) -> None:
    path = _cdnow("CDNOW_master.txt")
    rc = main(["evaluate", "clv", "--data", str(path), "--customer", "cust_id",
               "--time", "date", "--calibration-end", "1997-09-30", "--json"])
    assert rc == 2  # bad input
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cust_id" in captured.err and "CDNOW_master.txt" in captured.err


def _cdnow_orders() -> pd.DataFrame:
    tx = pd.read_csv(_cdnow("CDNOW_sample.txt"), sep=r"\s+", header=None,
                     names=["master", "cust", "date", "cds", "amount"], dtype={"date": str})
    n = len(tx)
    return pd.DataFrame({
        "order_id": [f"o{i}" for i in range(n)], "line_no": 1,
        "customer_id": "c" + tx["cust"].astype(str), "product_id": "cd",
        "quantity": np.ones(n, dtype=np.int64), "unit_price": tx["amount"],
        "order_time": pd.to_datetime(tx["date"], format="%Y%m%d"), "status": "completed",
    })


def test_clv_build_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from insightloop.report.builder import ReportContext
    from insightloop.report.pages import clv as clv_page
    from insightloop.settings import Settings
    from insightloop.storage.warehouse import Warehouse

    orders = _cdnow_orders()
    wh = tmp_path / "wh.duckdb"
    settings = Settings.load(warehouse=wh, env={})
    ctx: ReportContext = ctx_of(settings)
    assert clv_page.build(ctx) == []  # no warehouse yet
    Warehouse(wh).write_frame("orders", orders, replace=False)
    assert clv_page.build(ctx) == []  # no clv table yet
    rc = main(["clv", "build", "--warehouse", str(wh), "--horizon-months", "6", "--json"])
    assert rc == 0
    res = _one_json(capsys.readouterr().out)
    assert res["customers"] == Warehouse(wh).table("clv").shape[0] > 0
    assert res["expected_purchases_column"] == "expected_purchases_6m"
    assert set(res["purchase_summary"]["r"]) == {"coef", "se", "lower_95", "upper_95"}
    sections = clv_page.build(ctx)
    assert len(sections) == 1 and sections[0].figures and "<table>" in sections[0].tables_html[0]
    # the parameters with standard errors, as lifetimes' summary shows them
    assert "lower_95" in sections[0].tables_html[1] and "dropout prior" in sections[0].intro


def test_clv_options_checked_at_parse_time(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    wh = str(tmp_path / "wh.duckdb")
    assert main(["clv", "build", "--warehouse", wh, "--model", "xgb"]) == 2
    assert main(["clv", "build", "--warehouse", wh, "--dropout-prior", "-1"]) == 2
    assert main(["clv", "build", "--warehouse", wh, "--dropout-prior", "lots"]) == 2
    err = capsys.readouterr().err
    assert "xgb" in err and "lots" in err and "Traceback" not in err


def test_clv_build_missing_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["clv", "build", "--warehouse", str(tmp_path / "none.duckdb")])
    assert rc == 1
    assert "does not exist" in capsys.readouterr().err


def test_clv_build_respects_memory_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`clv build` opens the warehouse with INSIGHTLOOP_MEMORY_LIMIT, as every command does
    (it used to open the bare file and drop the limit)."""
    import duckdb

    from insightloop.storage.warehouse import Warehouse

    wh = tmp_path / "wh.duckdb"
    Warehouse(wh).write_frame("orders", _cdnow_orders(), replace=False)
    monkeypatch.setenv("INSIGHTLOOP_MEMORY_LIMIT", "lots")
    rc = main(["clv", "build", "--warehouse", str(wh), "--json"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "invalid memory limit 'lots'" in err and "Traceback" not in err
    assert not Warehouse(wh, memory_limit=None).has_table("clv")  # nothing written

    seen: list[str] = []
    configure = Warehouse._configure

    def spy(self: Warehouse, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        out = configure(self, con)
        row = out.execute("SELECT current_setting('memory_limit')").fetchone()
        seen.append(str(row[0]) if row else "")
        return out

    monkeypatch.setattr(Warehouse, "_configure", spy)
    monkeypatch.setenv("INSIGHTLOOP_MEMORY_LIMIT", "123MB")
    rc = main(["clv", "build", "--warehouse", str(wh), "--json"])
    assert rc == 0, capsys.readouterr().err
    assert _one_json(capsys.readouterr().out)["customers"] > 0
    with duckdb.connect() as con:
        con.execute("SET memory_limit = '123MB'")
        row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None and seen and set(seen) == {str(row[0])}  # every open had it
