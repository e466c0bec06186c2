"""Every time chart of the report marks the partial last month of the demo data (the bundled
Online Retail sample ends on 9 December 2011), and money is shown with its currency."""

from __future__ import annotations

import calendar
from pathlib import Path

import duckdb

from contexts import ctx_of
from insightloop.report.pages import a_overview, f_cohorts, h_sentiment

NOTE = "partial month, data to 9 Dec 2011"


def test_monthly_revenue_marks_december_2011_as_partial(demo_warehouse: Path) -> None:
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        last, december = con.execute(
            "SELECT max(order_time), sum(quantity * unit_price) FILTER (WHERE order_time >= "
            "'2011-12-01') FROM orders").fetchone()  # type: ignore[misc]
    assert str(last)[:10] == "2011-12-09"
    (section,) = a_overview.build(ctx_of(demo_warehouse))
    revenue = section.figures[0]
    solid, dashed, marker = revenue.data[:3]
    assert str(solid.x[-1])[:7] == "2011-11" and dashed.line.dash == "dash"
    assert str(marker.x[0])[:7] == "2011-12" and abs(marker.y[0] - december) < 1e-6
    assert [a.text for a in revenue.layout.annotations] == [NOTE]
    assert "Partial month, data to 9 Dec 2011: drawn dashed" in section.intro
    assert "net revenue £" in section.intro and "(GBP)" in revenue.layout.yaxis.title.text


def test_cohort_cells_of_the_partial_month_are_starred(demo_warehouse: Path) -> None:
    (section,) = f_cohorts.build(ctx_of(demo_warehouse))
    heat_fig, curves = section.figures
    assert NOTE in heat_fig.layout.title.text
    heat = heat_fig.data[0]
    starred = [(y, x) for y, row in zip(heat.y, heat.text, strict=True)
               for x, cell in enumerate(row) if cell.endswith("*")]
    # One cell per cohort: the cohort's month N that falls in December 2011.
    cohorts = [y[:7] for y in heat.y]
    assert len(starred) == len(cohorts)
    for label, period in starred:
        year, month = int(label[:4]), int(label[5:7])
        assert (year * 12 + month - 1 + period) == 2011 * 12 + 11
    last = curves.data[0]
    assert list(last.marker.symbol)[-1] == "circle-open"


def test_sentiment_trend_hatches_the_partial_month_and_names_products(
        demo_warehouse: Path) -> None:
    sections = h_sentiment.build(ctx_of(demo_warehouse))
    trend = sections[0].figures[0]
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        first, last = con.execute("SELECT min(review_time), max(review_time) "
                                  "FROM reviews").fetchone()  # type: ignore[misc]
    shapes = list(trend.data[0].marker.pattern.shape)
    expect = [""] * len(shapes)
    if first.day > 1:
        expect[0] = "/"
    if last.day < calendar.monthrange(last.year, last.month)[1]:
        expect[-1] = "/"
    assert shapes == expect and "/" in shapes
    html = "".join(sections[0].tables_html)
    assert "<th>name</th>" in html
