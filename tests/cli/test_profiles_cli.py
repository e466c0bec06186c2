"""CLI: profiles build / profile, --warehouse and INSIGHTLOOP_WAREHOUSE, error exits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from insightloop.cli.main import main


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_profiles_build_and_show(sample_warehouse: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    wh = tmp_path / "wh.duckdb"
    shutil.copy(sample_warehouse, wh)
    assert main(["profiles", "build", "--warehouse", str(wh), "--json"]) == 0
    built = _json(capsys)
    assert built["customers"] == 364
    assert built["as_of"].startswith("2011-12-10")
    assert main(["profiles", "build", "--warehouse", str(wh), "--as-of", "2011-06-01",
                 "--json"]) == 0
    early = _json(capsys)
    assert 0 < early["customers"] < 364
    assert main(["profile", "12412", "--warehouse", str(wh), "--json"]) == 1
    assert "has no profile" in capsys.readouterr().err
    assert main(["profiles", "build", "--warehouse", str(wh), "--json"]) == 0
    capsys.readouterr()
    assert main(["profile", "12412", "--warehouse", str(wh), "--json"]) == 0
    one = _json(capsys)
    assert one["customer_id"] == "12412"
    assert one["frequency"] == 3
    assert one["country"] == "Denmark"


def test_env_warehouse_is_honoured(sample_warehouse: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INSIGHTLOOP_WAREHOUSE", str(sample_warehouse))
    assert main(["profile", "12412", "--json"]) == 0
    assert _json(capsys)["customer_id"] == "12412"


def test_missing_warehouse_is_a_clear_error(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["profile", "1", "--warehouse", str(tmp_path / "none.duckdb")])
    assert code == 1
    assert "does not exist yet" in capsys.readouterr().err


def test_bad_as_of_is_a_clear_error(sample_warehouse: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["profiles", "build", "--warehouse", str(sample_warehouse), "--as-of", "junk"])
    assert code == 2
    assert "ISO date" in capsys.readouterr().err
