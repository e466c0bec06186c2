"""``insightloop quality``: JSON and tables, and the refreshed HTML report."""

from __future__ import annotations

import importlib.resources as ir
import json
from pathlib import Path

import pytest

from insightloop.cli.main import main
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse

SAMPLE = Path(str(ir.files("insightloop.data") / "online_retail_sample.csv.gz"))


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("INSIGHTLOOP_REPORTS", "INSIGHTLOOP_CONFIG", "INSIGHTLOOP_WAREHOUSE"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "home" / "wh.duckdb"
    ingest_file(Warehouse(path), "orders", SAMPLE, preset="online-retail")
    return path


def test_quality_json_and_report(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quality", "--warehouse", str(warehouse), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    loaded = Warehouse(warehouse).query("SELECT count(*) AS n, "
                                        "count(*) FILTER (WHERE quantity < 0) AS neg FROM orders")
    orders = out["tables"][0]
    assert orders["table"] == "orders" and orders["rows"] == loaded["n"].item()
    assert out["cancellations"]["lines"] == loaded["neg"].item()
    assert out["quarantine"]["total"] == out["ingest_log"][0]["rows_quarantined"]
    report = Path(out["report"])
    assert report == warehouse.parent / "reports" / "report.html"
    html = report.read_text(encoding="utf-8")
    for title in ("Overview", "Net revenue by month", "Customers by country (top 15)",
                  "Order value distribution", "Data quality", "Missing values (% of rows)",
                  "exact duplicate rows", "cancellations without earlier purchase"):
        assert title in html, title
    assert html.index("data-page='overview'") < html.index("data-page='quality'")


def test_quality_tables(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quality", "-w", str(warehouse)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "rows and missing values" in out and "flagged (nothing deleted)" in out
    assert "customer_id" in out and "quarantine:" in out
    assert f"report: {warehouse.parent / 'reports' / 'report.html'}" in out


def test_quality_without_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quality", "-w", str(tmp_path / "none.duckdb"), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "does not exist yet" in captured.err


def test_quality_when_the_report_cannot_be_written(
        warehouse: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Read-only warehouse and a file where the reports folder should be: tables, a warning."""
    monkeypatch.setenv("INSIGHTLOOP_READ_ONLY", "1")
    blocker = warehouse.parent / "reports"
    blocker.write_text("not a folder", encoding="utf-8")
    stamp = warehouse.read_bytes()
    assert main(["quality", "-w", str(warehouse)]) == 0
    captured = capsys.readouterr()
    out, err = " ".join(captured.out.split()), " ".join(captured.err.split())
    assert "rows and missing values" in out and "quarantine:" in out and "report:" not in out
    assert "Traceback" not in captured.out + captured.err
    assert err.startswith("Warning: the quality report is complete, but cannot write the HTML "
                          f"report {blocker / 'report.html'}")
    assert "set INSIGHTLOOP_REPORTS" in err
    assert main(["quality", "-w", str(warehouse), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["report"] is None and "cannot write the HTML report" in payload["report_error"]
    assert payload["tables"][0]["rows"] > 0
    assert warehouse.read_bytes() == stamp and blocker.read_text(encoding="utf-8") == "not a folder"
    assert not list(warehouse.parent.glob("*.tmp"))


def test_quality_on_a_damaged_warehouse(warehouse: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with warehouse.open("r+b") as fh:
        fh.truncate(warehouse.stat().st_size - 4096)
    assert main(["quality", "-w", str(warehouse)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "is damaged" in captured.err
    assert not (warehouse.parent / "reports").exists()
