"""Service and CLI for cohorts on the bundled Online Retail sample."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.cli.main import main
from insightloop.errors import WarehouseError
from insightloop.services.cohorts import build_cohorts, compute_cohorts, show_cohorts
from insightloop.settings import Settings
from insightloop.storage.warehouse import Warehouse


@pytest.fixture()
def warehouse(sample_warehouse: Path, tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, path)
    return path


def test_build_cohorts_matches_profiles(warehouse: Path) -> None:
    settings = Settings.load(warehouse=warehouse, env={})
    summary = build_cohorts(ctx_of(settings))
    wh = Warehouse(warehouse)
    table = wh.table("cohorts")
    buyers = wh.query("SELECT count(*) AS n FROM profiles WHERE frequency > 0")["n"].iloc[0]
    assert summary["customers"] == buyers == table.loc[table.period == 0, "customers"].sum()
    assert (table.loc[table.period == 0, "retention"] == 1.0).all()
    assert table["retention"].between(0, 1).all()
    assert summary["cohorts"] == table["cohort_month"].nunique()
    assert len(summary["rows"]) == len(table)
    assert show_cohorts(ctx_of(settings))["customers"] == buyers
    # The table equals the in-memory computation.
    assert compute_cohorts(ctx_of(wh)).shape == table.shape


def test_cohorts_cli_json(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cohorts", "--warehouse", str(warehouse), "--json"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert len(lines) == 1
    res = json.loads(lines[0])
    assert {"cohorts", "customers", "periods", "rows", "as_of"} <= set(res)
    assert res["rows"][0]["period"] == 0
    assert main(["cohorts", "--warehouse", str(warehouse)]) == 0
    assert "retention" in capsys.readouterr().out


def test_show_cohorts_missing_table(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    Warehouse(path).write_frame("x", pd.DataFrame({"a": [1]}))
    with pytest.raises(WarehouseError, match="insightloop cohorts"):
        show_cohorts(ctx_of(Settings.load(warehouse=path, env={})))
    with pytest.raises(WarehouseError, match="ingest"):
        build_cohorts(ctx_of(Settings.load(warehouse=path, env={})))
