"""Report page: market trends. Rising and declining products with their weekly sales
(sparklines), the weekday and month seasonality heatmaps, the latest anomalies, forecast
fans of the largest products (table ``forecasts``) and new-product ramps."""

from __future__ import annotations

from typing import Any

import pandas as pd

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html
from insightloop.report.format import formatter_for
from insightloop.services.planning import item_forecast, read_anomalies, read_trends
from insightloop.services.planning.reading import forecast_items, read_ramps, read_seasonality
from insightloop.services.planning.series import load_panel

SPARK_WEEKS = 52
TOP = 6
COLOURS = {"rising": "#2e8b57", "declining": "#c0392b", "seasonal": "#d68910"}


def _label(direction: str) -> str:
    return "seasonal, one year only" if direction == "seasonal" else direction


def build(ctx: ReportContext) -> list[Section]:
    """The trends sections; [] before ``insightloop trends build``."""
    try:
        rows = read_trends(ctx, "product", top=TOP)
        rows += read_trends(ctx, "product", direction="seasonal", top=TOP // 2)
    except InsightloopError:
        return []
    sections = [_movers(ctx, rows)]
    sections += _seasonality(ctx)
    sections += _anomalies(ctx)
    sections += _fans(ctx)
    sections += _ramps(ctx)
    return sections


def _movers(ctx: ReportContext, rows: list[Any]) -> Section:
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fmt = formatter_for(ctx)
    method = rows[0]["method"] if rows else "trend"
    intro = ("Growth of the last weeks against the same weeks a year before (seasonality "
             "cancels); significant at a 5% false discovery rate (Benjamini-Hochberg)."
             if method == "yoy" else
             "Less than a year and a window of history: growth is a log-linear trend over "
             "the window, not seasonally adjusted. An item moving with the typical item "
             "of the shop over the same weeks (Christmas lines in the autumn) is marked "
             "'seasonal, one year only' instead of rising or declining: one year of data "
             "cannot tell its trend from the season.")
    figures = []
    if rows:
        panel = load_panel(ctx, "product", "units", "W", [r["item"] for r in rows])
        series = dict(zip(panel.items, panel.values[:, -SPARK_WEEKS:], strict=True))
        fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=0.02,
                            subplot_titles=[f"{_label(r['direction'])}: {r['item']} "
                                            f"{r['name'] or ''}" for r in rows])
        weeks = panel.periods[-SPARK_WEEKS:]
        for i, r in enumerate(rows, start=1):  # a few sparklines
            fig.add_trace(go.Scatter(x=weeks, y=series.get(r["item"]), mode="lines",
                                     line={"color": COLOURS.get(r["direction"], "#7f8c8d"),
                                           "width": 1.5}, showlegend=False),
                          row=i, col=1)
        fig.update_layout(title="Weekly units of the strongest movers", height=110 * len(rows)
                          + 80, margin={"t": 60, "b": 30})
        figures.append(fig)
    shown = [{"direction": _label(r["direction"]), "product": r["item"], "name": r["name"],
              "recent units": fmt.number(r["recent"]),
              "growth": fmt.share(r["growth"], 0),
              "95% CI": f"{fmt.share(r['ci_low'], 0)} to {fmt.share(r['ci_high'], 0)}",
              "q": r["q"]} for r in rows]
    return Section(title="Rising and declining products", page="trends", intro=intro,
                   figures=figures, tables_html=[table_html(shown)])


def _seasonality(ctx: ReportContext) -> list[Section]:
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    figures = []
    for level in ("category", "country"):
        for period in ("weekday", "month"):
            frame = read_seasonality(ctx, level, period)
            if frame.empty:
                continue
            grid = frame.pivot(index="item", columns="position", values="index")
            labels = frame.drop_duplicates("position").set_index("position")["label"]
            strength = frame.groupby("item")["strength"].first()
            names = [f"{i} ({'n/a' if pd.isna(strength[i]) else f'{strength[i]:.2f}'})"
                     for i in grid.index]
            fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=labels.reindex(grid.columns),
                                       y=names, colorscale="RdBu", zmid=1.0,
                                       colorbar={"title": "index"}))
            fig.update_layout(title=f"{period.capitalize()} index by {level} (1 = average; "
                                    "strength in brackets)",
                              height=max(260, 28 * len(grid) + 120), margin={"t": 50})
            figures.append(fig)
        if figures:
            break
    if not figures:
        return []
    return [Section(title="Seasonality", page="trends", figures=figures,
                    intro="Strength: the share of the variance the weekday (or month) "
                          "explains; n/a with one year of months (each month seen once).")]


def _anomalies(ctx: ReportContext) -> list[Section]:
    alerts = read_anomalies(ctx, top=20)
    if not alerts:
        return []
    rows = [{"week of": a["ds"][:10], "level": a["level"], "item": a["item"],
             "kind": a["kind"], "actual": a["actual"], "expected": a["expected"],
             "z": round(a["z"], 1)} for a in alerts]
    return [Section(title="Anomalies", page="trends", tables_html=[table_html(rows)],
                    intro="Weeks more than 4 robust standard deviations from a running "
                          "median of 7 weeks (newest first).")]


def _fans(ctx: ReportContext) -> list[Section]:
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    figures = []
    for item in forecast_items(ctx):  # a handful of products
        f = item_forecast(ctx, item)
        hist = pd.DataFrame(f["history"])
        fc = pd.DataFrame(f["forecast"])
        fig = go.Figure()
        if not hist.empty:
            fig.add_trace(go.Scatter(x=hist["ds"], y=hist["y"], name="sales", mode="lines"))
        fig.add_trace(go.Scatter(x=pd.concat([fc["ds"], fc["ds"][::-1]]),
                                 y=pd.concat([fc["hi_80"], fc["lo_80"][::-1]]),
                                 fill="toself", opacity=0.25, line={"width": 0},
                                 name="80% interval", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=fc["ds"], y=fc["mean"], name="forecast",
                                 line={"dash": "dash"}))
        fig.update_layout(title=f"Forecast of {item}", height=320, margin={"t": 50})
        figures.append(fig)
    if not figures:
        return []
    return [Section(title="Forecasts", page="trends", figures=figures,
                    intro="Weekly units with the forecast and its 80% interval.")]


def _ramps(ctx: ReportContext) -> list[Section]:
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    curve, ramps = read_ramps(ctx)
    if ramps.empty:
        return []
    fig = go.Figure(go.Scatter(x=curve["week"], y=curve["median_sales"], mode="lines+markers"))
    fig.update_layout(title="Median weekly sales of a new product by weeks since launch",
                      xaxis_title="week since launch", height=320, margin={"t": 50})
    rows = ramps.assign(launch=ramps["launch"].astype(str).str[:10]).to_dict("records")
    return [Section(title="New-product launches", page="trends", figures=[fig],
                    tables_html=[table_html(rows)],
                    intro="Index: a launch's sales over its first weeks against the median "
                          "launch over the same weeks (2 = twice as fast).")]
