"""Report page: saved audiences with their live counts, versions and filters."""

from __future__ import annotations

from typing import Any

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html
from insightloop.services.audiences import list_audiences

#: The audiences live in the operational store: the dashboard renders this page on every
#: request instead of caching it per warehouse generation.
LIVE = True


def build(ctx: ReportContext) -> list[Section]:
    """One section listing every saved audience (latest version) counted now; [] when none
    is saved (the page then shows its declared message)."""
    try:
        rows = list_audiences(ctx)
    except InsightloopError:
        return []
    if not rows:
        return []
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    counted = [r for r in rows if r["count"] is not None]
    bars = go.Figure(go.Bar(x=[r["count"] for r in counted], y=[r["name"] for r in counted],
                            orientation="h", marker={"color": "#4a6fa5"},
                            hovertemplate="%{y}: %{x:,} customers<extra></extra>"))
    bars.update_layout(title="Customers in each audience now", xaxis_title="customers",
                       height=max(260, 34 * len(counted) + 120), margin={"t": 50, "b": 40})
    table: list[dict[str, Any]] = [
        {"audience": r["name"], "version": r["version"],
         "customers now": r["count"] if r["count"] is not None else "—",
         "when saved": r["last_count"], "filter": r["canonical"],
         "description": r["description"], "saved at": r["created_at"].replace("T", " "),
         "problem": r["live_error"] or ""} for r in rows]
    broken = sum(r["count"] is None for r in rows)
    intro = (f"{len(rows)} saved audience(s), counted on the warehouse now. Change one with "
             "`insightloop audiences create NAME --where ...` (a changed filter is a new "
             "version; `audiences show NAME --version N` reads an old one).")
    if broken:
        intro += (f" {broken} filter(s) no longer run on this warehouse (a column they use is "
                  "gone): see the problem column.")
    return [Section(title="Saved audiences", page="audiences", intro=intro,
                    figures=[bars] if counted else [], tables_html=[table_html(table)])]
