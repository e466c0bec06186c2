"""Report page: engagement (journeys and their customers per status, the send-time
profile: how many customers are best reached at each local hour, from their own history or
the population's)."""

from __future__ import annotations

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html
from insightloop.services.journeys import list_journeys
from insightloop.storage.warehouse import has_table


def build(ctx: ReportContext) -> list[Section]:
    """A journeys section when there are journeys, a send-time section when table
    ``send_times`` is built; [] before either."""
    return [s for s in (_journeys(ctx), _send_times(ctx)) if s is not None]


def _journeys(ctx: ReportContext) -> Section | None:
    try:
        journeys = list_journeys(ctx)
    except InsightloopError:
        return None
    if not journeys:
        return None
    statuses = sorted({s for j in journeys for s in j["states"]})
    rows = [{"journey": j["name"], "trigger": j["trigger"], "steps": j["steps"],
             "enabled": j["enabled"], **{s: j["states"].get(s, 0) for s in statuses}}
            for j in journeys]
    return Section(title="Journeys", page="engagement",
                   intro="Customers per journey and status (active: waiting for their next "
                         "step; done; converted: left on an order). `insightloop journeys "
                         "tick` advances them.", tables_html=[table_html(rows)])


def _send_times(ctx: ReportContext) -> Section | None:
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    try:
        with ctx.read() as con:
            if not has_table(con, "send_times"):
                return None
            frame = con.execute("SELECT hour, source, count(*) AS customers FROM send_times "
                                "GROUP BY hour, source ORDER BY hour, source").df()
    except InsightloopError:  # no warehouse yet
        return None
    if frame.empty:
        return None
    fig = go.Figure()
    for source, part in frame.groupby("source", sort=True):
        fig.add_trace(go.Bar(x=part["hour"], y=part["customers"], name=str(source)))
    fig.update_layout(barmode="stack", title="Best local hour to contact each customer",
                      xaxis_title="hour of day (customer's time zone)",
                      yaxis_title="customers", height=380, margin={"t": 50, "b": 40})
    own = int(frame.loc[frame["source"] == "customer", "customers"].sum())
    total = int(frame["customers"].sum())
    return Section(title="Send time", page="engagement",
                   intro=f"{own:,} of {total:,} customers have a best hour from their own "
                         "opens, clicks and orders; the others get the population's. Its "
                         "lift is measured by a holdout sending at a fixed hour, not assumed.",
                   figures=[fig])
