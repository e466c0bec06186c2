"""`insightloop migrate` upgrades the operational store too, and says where it lives;
`INSIGHTLOOP_OPS_URL` points keys (and everything else operational) at another store."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from insightloop.cli.main import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "warehouse_prev_release.duckdb.gz"


def test_migrate_upgrades_the_warehouse_and_the_ops_store(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wh = tmp_path / "warehouse.duckdb"
    with gzip.open(FIXTURE, "rb") as src, wh.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    assert main(["migrate", "-w", str(wh), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["migrated"] and out["ops_from_revision"] is None and out["ops_revision"]
    assert out["ops_store"].endswith("warehouse.ops.sqlite")
    assert (tmp_path / "warehouse.ops.sqlite").is_file()
    assert main(["migrate", "-w", str(wh)]) == 0
    text = capsys.readouterr().out
    assert "up to date" in text and "operational store" not in text  # nothing to upgrade


def test_ops_url_setting_moves_the_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    wh = tmp_path / "w" / "warehouse.duckdb"
    elsewhere = tmp_path / "ops" / "state.sqlite"
    monkeypatch.setenv("INSIGHTLOOP_OPS_URL", f"sqlite:///{elsewhere}")
    assert main(["keys", "create", "--role", "read", "-w", str(wh), "--json"]) == 0
    capsys.readouterr()
    assert elsewhere.is_file() and not (wh.parent / "warehouse.ops.sqlite").exists()
    monkeypatch.setenv("INSIGHTLOOP_OPS_URL", "mysql://u@h/db")
    assert main(["keys", "list", "-w", str(wh)]) == 2
    err = capsys.readouterr().err
    assert "SQLite or PostgreSQL" in err and "Traceback" not in err
