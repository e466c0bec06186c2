"""The demo runs the whole loop on the bundled sample and writes a self-contained report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insightloop.cli.main import main


def test_demo_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INSIGHTLOOP_WAREHOUSE", raising=False)
    assert main(["demo", "--json", "--no-serve"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert Path(out["warehouse"]) == Path("insightloop_demo/warehouse.duckdb")
    ingest = out["ingest"]
    assert ingest["rows_in"] == 36612
    assert ingest["rows_in"] == (ingest["rows_loaded"] + ingest["rows_quarantined"]
                                 + ingest["rows_duplicate"])
    assert out["profiles"]["customers"] == 364
    report = Path(out["report"])
    html = report.read_text(encoding="utf-8")
    # Self-contained: plotly.js inlined, no external script.
    assert "<script src=" not in html
    assert html.count("plotly-graph-div") >= 5
    assert out["scoring churn risk with reasons"]["customers"] == 364
    for page in ("overview", "quality", "rfm", "segments", "cohorts", "clv", "predictive"):
        assert f"data-page='{page}" in html, page
    # The customer 360 view joins every enrichment, one row per profile.
    from insightloop.storage.warehouse import Warehouse

    c360 = Warehouse(tmp_path / out["warehouse"]).table("customer_360")
    assert len(c360) == 364 and c360["customer_id"].is_unique
    for col in ("rfm_segment", "value_tier", "segment_name", "strategy", "churn_score",
                "churn_version"):
        assert c360[col].notna().all(), col
    # CLV leaves out customers with no positive purchase day (documented in build_clv).
    assert c360["clv"].notna().sum() == out["fitting CLV models (BG/NBD + Gamma-Gamma)"][
        "customers"] >= 350
    # Re-running the demo is idempotent: nothing new is loaded.
    assert main(["demo", "--json", "--no-serve"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ingest"]
    assert again["rows_loaded"] == 0
    assert again["rows_duplicate"] == ingest["rows_loaded"]
