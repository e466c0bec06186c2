"""Report page for review sentiment: nothing before scoring; trend, heatmap, topic map after."""

from __future__ import annotations

import shutil
from pathlib import Path

from contexts import ctx_of
from insightloop.report.builder import render
from insightloop.report.pages import h_sentiment
from insightloop.services.sentiment import discover_topics, ingest_demo_reviews, score_reviews
from insightloop.settings import Settings


def test_page_renders_after_scoring_only(sample_warehouse: Path, tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, path)
    settings = Settings(warehouse=path, models_dir=tmp_path / "models")
    ctx = ctx_of(settings)
    assert h_sentiment.build(ctx) == []
    ingest_demo_reviews(ctx_of(settings))
    score_reviews(ctx_of(settings))
    sections = h_sentiment.build(ctx)
    assert len(sections) == 1 and len(sections[0].figures) == 2  # no topics yet
    discover_topics(ctx_of(settings), k=3)
    [section] = h_sentiment.build(ctx)
    titles = [f.layout.title.text for f in section.figures]
    assert titles[0].startswith("Net sentiment (positive − negative share) per month")
    assert titles[1:] == ["Aspect mentions by sentiment", "Topic map: size vs net sentiment"]
    assert "528 reviews scored" in section.intro
    assert "Voice of the customer" in render([section])
