"""`segments build` takes configurable value-tier shares or absolute thresholds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from insightloop.cli.main import main


def test_tier_shares_and_thresholds(sample_warehouse: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, wh)
    with duckdb.connect(str(wh)) as con:  # other tests may have fitted CLV on the fixture
        con.execute("DROP VIEW IF EXISTS customer_360")
        con.execute("DROP TABLE IF EXISTS clv")
    assert main(["segments", "build", "-w", str(wh), "--high-share", "0.1",
                 "--medium-share", "0.2", "--json"]) == 0
    tiers = json.loads(capsys.readouterr().out)["value_tiers"]
    assert (tiers["high"], tiers["medium"], tiers["low"]) == (36, 73, 255)  # 10% / 20% of 364
    assert main(["segments", "build", "-w", str(wh), "--high-value", "5000",
                 "--medium-value", "1000", "--json"]) == 0
    tiers = json.loads(capsys.readouterr().out)["value_tiers"]
    profiles = duckdb.connect(str(wh), read_only=True).execute(
        "SELECT count(*) FILTER (WHERE monetary >= 5000), "
        "count(*) FILTER (WHERE monetary >= 1000 AND monetary < 5000) FROM profiles"
    ).fetchone()
    assert (tiers["high"], tiers["medium"]) == profiles  # no CLV table: value = net spend
    assert main(["segments", "build", "-w", str(wh), "--high-value", "5000"]) == 2
    assert "give both" in capsys.readouterr().err
