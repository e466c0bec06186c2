"""Report pages for RFM, segments and cohorts: sections when built, nothing when not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from contexts import ctx_of
from insightloop.report.builder import ReportContext, render
from insightloop.report.pages import c_rfm, e_segments, f_cohorts
from insightloop.services.cohorts import build_cohorts
from insightloop.services.segments import build_segments
from insightloop.settings import Settings

PAGES = (c_rfm, e_segments, f_cohorts)


def _ctx(path: Path) -> ReportContext:
    settings = Settings.load(warehouse=path, env={})
    return ctx_of(settings)


def test_pages_render_when_tables_exist(sample_warehouse: Path, tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, path)
    settings = Settings.load(warehouse=path, env={})
    build_segments(ctx_of(settings), k=3)
    build_cohorts(ctx_of(settings))
    sections = [s for page in PAGES for s in page.build(_ctx(path))]
    assert [s.page for s in sections] == ["rfm", "segments", "cohorts"]
    assert [len(s.figures) for s in sections] == [2, 1, 2]
    assert "3 segments by kmeans" in sections[1].intro
    html = render(sections)
    assert "Customers per RFM segment" in html and "Retention" in html


@pytest.mark.parametrize("page", PAGES)
def test_pages_empty_without_tables(page: object, sample_warehouse: Path, tmp_path: Path) -> None:
    assert page.build(_ctx(tmp_path / "missing.duckdb")) == []  # type: ignore[attr-defined]
    assert page.build(_ctx(sample_warehouse)) == []  # type: ignore[attr-defined]
