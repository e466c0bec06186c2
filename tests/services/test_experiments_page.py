"""The experiments report page (also the dashboard's /experiments): effects per metric with
intervals, the monitoring curve, the SRM warning; nothing before any analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from contexts import ctx_of
from insightloop.report.pages import experiments as page
from insightloop.services.experiments import analyze_file
from insightloop.settings import Settings
from insightloop.storage.operational.engine import forget_stores
from serving_helpers import client_for, make_keys


def _file(tmp_path: Path, control_share: float) -> Path:
    rng = np.random.default_rng(5)
    n = 4000
    arm = np.where(rng.random(n) < control_share, "control", "treated")
    df = pd.DataFrame({"arm": arm, "buy": (rng.random(n) < 0.1).astype(int),
                       "day": pd.Timestamp("2026-02-01").strftime("%Y-%m-")
                       + pd.Series(rng.integers(1, 8, n)).map("{:02d}".format)})
    path = tmp_path / f"e{control_share}.csv"
    df.to_csv(path, index=False)
    return path


def test_page_shows_effects_curve_and_srm_warning(tmp_path: Path) -> None:
    ctx = ctx_of(tmp_path / "wh.duckdb")
    assert page.build(ctx) == []
    analyze_file(ctx, _file(tmp_path, 0.5), "arm", "control", ["buy"], time="day",
                 save="fair")
    analyze_file(ctx, _file(tmp_path, 0.4), "arm", "control", ["buy"], time="day",
                 save="skewed")
    sections = {s.title: s for s in page.build(ctx)}
    assert set(sections) == {"Experiment fair", "Experiment skewed"}
    fair, skewed = sections["Experiment fair"], sections["Experiment skewed"]
    assert "(no mismatch)" in fair.intro and "SAMPLE RATIO MISMATCH" in skewed.intro
    assert len(fair.figures) == 2  # effects with intervals, the monitoring curve
    curve = fair.figures[1]
    assert len(curve.data) == 2 and len(curve.data[0].x) == 7
    assert "control_mean" in fair.tables_html[0]


def test_dashboard_serves_the_page_from_the_declaration(tmp_path: Path) -> None:
    settings = Settings.load(warehouse=tmp_path / "wh.duckdb", env={})
    ctx = ctx_of(settings)
    analyze_file(ctx, _file(tmp_path, 0.4), "arm", "control", ["buy"], time="day",
                 save="skewed")
    keys = make_keys(settings)
    with client_for(settings) as client:
        client.post("/login", data={"key": keys["read"], "next": "/experiments"})
        r = client.get("/experiments")
        assert r.status_code == 200, r.text[:300]
        assert "Experiment skewed" in r.text and "SAMPLE RATIO MISMATCH" in r.text
        assert 'href="/experiments"' in r.text  # in the navigation
    forget_stores()
