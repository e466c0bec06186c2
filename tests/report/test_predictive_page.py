"""Report page of predictive scores: nothing without models, full section with one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from contexts import ctx_of
from insightloop.report.builder import render
from insightloop.report.pages import predictive
from insightloop.services.training import train_target_file
from insightloop.settings import Settings


def test_no_models_no_section(tmp_path: Path) -> None:
    settings = Settings.load(warehouse=tmp_path / "missing.duckdb", env={})
    assert predictive.build(ctx_of(settings)) == []


def test_section_for_a_registered_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": x, "g": rng.choice(["a", "b"], n),
                  "y": (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)}).to_csv(path)
    settings = Settings.load(warehouse=tmp_path / "wh.duckdb", env={})
    meta = train_target_file(ctx_of(settings), path, "y", name="demo-model", model="logistic")
    # the one reader names a blank header as ingest does (pandas said "Unnamed: 0")
    assert meta["dropped"] == {"column1": "identifier (unique per row)"}
    sections = predictive.build(ctx_of(settings))
    assert [s.title for s in sections] == ["Predictive score: demo-model"]
    sec = sections[0]
    assert len(sec.figures) == 6
    assert f"AUC {meta['metrics']['auc']:.3f}" in sec.intro
    assert "evaluation predictions" in sec.figures[-1].layout.title.text
    html = render(sections)
    assert "Cumulative gains by decile" in html and "<table>" in html
