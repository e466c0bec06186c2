"""Report page: experiments and campaign holdouts (effects with intervals per metric, the
sequential monitoring curve, the SRM warning, incremental value and ROI)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html
from insightloop.services.experiments.reading import read_experiments

MAX_EXPERIMENTS = 6


def build(ctx: ReportContext) -> list[Section]:
    """One section per analysed experiment (newest first); [] before any analysis."""
    try:
        results, curve, value = read_experiments(ctx, MAX_EXPERIMENTS)
    except InsightloopError:
        return []
    if results.empty:
        return []
    return [_section(eid, part, curve[curve["experiment_id"] == eid],
                     value[value["experiment_id"] == eid])
            for eid, part in results.groupby("experiment_id", sort=False)]


def _section(eid: str, res: pd.DataFrame, curve: pd.DataFrame, value: pd.DataFrame
             ) -> Section:
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    srm = float(res["srm_p_value"].iloc[0])
    intro = (f"Source {res['source'].iloc[0]}; control n = {int(res['control_n'].iloc[0]):,}. "
             f"Sample-ratio check p = {srm:.3g}"
             + (" — SAMPLE RATIO MISMATCH: the arms' sizes do not match the planned split; "
                "do not trust these effects before the assignment is checked." if srm < 0.001
                else " (no mismatch)."))
    label = res["variant"] + " · " + res["metric"]
    forest = go.Figure(go.Scatter(
        x=res["relative_effect"] * 100, y=label, mode="markers",
        error_x={"type": "data", "symmetric": False,
                 "array": (res["relative_ci_high"] - res["relative_effect"]) * 100,
                 "arrayminus": (res["relative_effect"] - res["relative_ci_low"]) * 100},
        marker={"color": ["#c0392b" if f else "#4a6fa5" for f in res["flagged"]], "size": 9},
        hovertemplate="%{y}: %{x:.2f}%<extra></extra>"))
    forest.add_vline(x=0, line_dash="dot")
    forest.update_layout(title="Relative effect against the control, 95% interval",
                         xaxis_title="% change", height=max(300, 40 * len(res) + 120),
                         margin={"t": 50, "b": 40})
    figures = [forest]
    if not curve.empty:
        seq = go.Figure()
        for (variant, metric), part in curve.groupby(["variant", "metric"], sort=False):
            name = f"{variant} · {metric}"
            seq.add_trace(go.Scatter(x=part["day"], y=part["effect"], name=name,
                                     mode="lines+markers"))
            seq.add_trace(go.Scatter(x=pd.concat([part["day"], part["day"][::-1]]),
                                     y=pd.concat([part["sequence_high"],
                                                  part["sequence_low"][::-1]]),
                                     fill="toself", opacity=0.2, line={"width": 0},
                                     name=f"{name}: confidence sequence", hoverinfo="skip"))
        seq.add_hline(y=0, line_dash="dot")
        seq.update_layout(title="Monitoring: cumulative effect and always-valid confidence "
                                "sequence (safe to look daily)", xaxis_title="day",
                          yaxis_title="effect", height=420, margin={"t": 50, "b": 40})
        figures.append(seq)
    shown = res[["variant", "metric", "control_mean", "variant_mean", "effect", "ci_low",
                 "ci_high", "p_adjusted", "chance_to_win", "flagged"]]
    tables = [table_html(_records(shown))]
    if not value.empty:
        tables.append(table_html(_records(value.drop(columns=["experiment_id"]))))
    return Section(title=f"Experiment {eid}", page="experiments", intro=intro,
                   figures=figures, tables_html=tables)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()}
            for r in frame.to_dict(orient="records")]
