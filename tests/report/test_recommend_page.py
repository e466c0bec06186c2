"""Report page for recommendations: a section once built, nothing before."""

from __future__ import annotations

import shutil
from pathlib import Path

from contexts import ctx_of
from insightloop.report.builder import render
from insightloop.report.pages import g_recommend
from insightloop.services.recommend import build_recommendations
from insightloop.settings import Settings


def test_page_renders_after_build_only(sample_warehouse: Path, tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, path)
    settings = Settings(warehouse=path, models_dir=tmp_path / "models")
    ctx = ctx_of(settings)
    assert g_recommend.build(ctx) == []
    build_recommendations(ctx_of(settings), model="itemknn", n=5, embedder="none")
    sections = g_recommend.build(ctx)
    assert len(sections) == 1 and len(sections[0].tables_html) == 2
    assert "catalogue coverage" in sections[0].intro
    assert "similar product" in sections[0].tables_html[1]
    assert "Recommendations" in render(sections)
