"""`insightloop ingest TABLE FILE...`: several files or a quoted glob, totals in --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insightloop.cli.main import main


def test_several_files_and_a_glob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("exports").mkdir()
    Path("exports/day1.csv").write_text("customer_id,country\nc1,FR\nc2,ES\n")
    Path("exports/day2.csv").write_text("customer_id,country\nc3,DE\nc1,FR\nc4,\n")
    wh = str(tmp_path / "w.duckdb")
    assert main(["ingest", "customers", "exports/*.csv", "-w", wh, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["rows_in"], out["rows_loaded"], out["rows_duplicate"]) == (5, 4, 1)
    assert [f["file"] for f in out["files"]] == ["exports/day1.csv", "exports/day2.csv"]
    # One file keeps the documented single-object shape.
    assert main(["ingest", "customers", "exports/day1.csv", "-w", wh, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "table": "customers", "rows_in": 2, "rows_loaded": 0, "rows_quarantined": 0,
        "rows_duplicate": 2, "notes": []}
    assert main(["ingest", "customers", "exports/*.parquet", "-w", wh]) == 2
    assert "no file matches" in capsys.readouterr().err
