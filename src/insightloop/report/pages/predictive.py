"""Report page: predictive scores — ROC/PR, calibration, gains, importance, score distribution.

One section per registered model name (its latest version). Curves use the
predictions stored with the model (held-out test set, or out-of-fold scores of
the inner cross-validation); the score distribution uses table ``scores`` when
the model has been run on the warehouse, else the same stored predictions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html
from insightloop.report.format import label
from insightloop.storage.warehouse import has_table

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

_COLOR = "#4a6fa5"
_GREY = "#999999"


def _scores(ctx: ReportContext, name: str) -> pd.DataFrame | None:
    if not ctx.warehouse.exists:
        return None
    with ctx.warehouse.connect(read_only=True) as con:
        if not has_table(con, "scores"):
            return None
        frame = con.execute("SELECT score FROM scores WHERE model = ?", [name]).df()
    return frame if len(frame) else None


def _curves(ev: pd.DataFrame) -> tuple[go.Figure, go.Figure]:
    # lazy: plotly and scikit-learn (seconds) only when a model's curves are drawn
    import plotly.graph_objects as go
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(ev["y"], ev["p"])
    roc = go.Figure([go.Scatter(x=fpr, y=tpr, mode="lines", name="model",
                                line={"color": _COLOR}),
                     go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random",
                                line={"color": _GREY, "dash": "dash"})])
    roc.update_layout(title="ROC curve", xaxis_title="false positive rate",
                      yaxis_title="true positive rate", height=380)
    precision, recall, _ = precision_recall_curve(ev["y"], ev["p"])
    pr = go.Figure([go.Scatter(x=recall, y=precision, mode="lines", name="model",
                               line={"color": _COLOR}),
                    go.Scatter(x=[0, 1], y=[ev["y"].mean()] * 2, mode="lines",
                               name="base rate", line={"color": _GREY, "dash": "dash"})])
    pr.update_layout(title="Precision-recall curve", xaxis_title="recall",
                     yaxis_title="precision", height=380)
    return roc, pr


def _calibration_and_gains(ev: pd.DataFrame) -> tuple[go.Figure, go.Figure, pd.DataFrame]:
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    # lazy: the classifier metrics load scikit-learn, only when a model section is drawn
    from insightloop.models.classify.metrics import calibration_table, gains_table

    cal = calibration_table(ev["y"], ev["p"])
    calib = go.Figure([go.Scatter(x=cal["mean_predicted"], y=cal["observed"],
                                  mode="lines+markers", name="model", line={"color": _COLOR}),
                       go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect",
                                  line={"color": _GREY, "dash": "dash"})])
    calib.update_layout(title="Calibration (deciles of predicted probability)",
                        xaxis_title="mean predicted probability", yaxis_title="observed rate",
                        height=380)
    gains = gains_table(ev["y"], ev["p"])
    gchart = go.Figure([
        go.Scatter(x=[0, *gains["cum_share_customers"]], y=[0, *gains["cum_share_positives"]],
                   mode="lines+markers", name="model", line={"color": _COLOR}),
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random",
                   line={"color": _GREY, "dash": "dash"})])
    gchart.update_layout(title="Cumulative gains by decile", xaxis_title="share of customers "
                         "targeted (highest scores first)", yaxis_title="share of positives "
                         "reached", height=380)
    return calib, gchart, gains


def _section(ctx: ReportContext, meta: dict[str, Any], ev: pd.DataFrame) -> Section:
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    roc, pr = _curves(ev)
    calib, gchart, gains = _calibration_and_gains(ev)
    imp = meta.get("importance", [])[:15]
    importance = go.Figure(go.Bar(x=[r["share"] for r in imp][::-1],
                                  y=[label(str(r["feature"])) for r in imp][::-1],
                                  orientation="h",
                                  marker_color=_COLOR))
    importance.update_layout(title="Global importance (share of mean |contribution|, exact "
                             "SHAP)", xaxis_title="share", height=420)
    scores = _scores(ctx, str(meta["name"]))
    dist_values = scores["score"] if scores is not None else ev["p"]
    dist = go.Figure(go.Histogram(x=dist_values, nbinsx=40, marker_color=_COLOR))
    dist.update_layout(
        title="Score distribution (" + ("table scores" if scores is not None
                                        else "evaluation predictions") + ")",
        xaxis_title=str(meta.get("label", "score")), yaxis_title="customers", height=380)
    m = meta["metrics"]
    intro = (f"{meta['name']}:v{meta['version']} — {meta.get('target')} ({meta['model']}), "
             f"trained on {meta['rows']:,} examples at as-of "
             f"{', '.join(str(d)[:10] for d in meta.get('as_of_dates') or []) or 'n/a'}; "
             f"evaluated on {m['evaluated_on']} ({m['rows']:,} rows): AUC {m['auc']:.3f}, "
             f"PR-AUC {m['pr_auc']:.3f}, log loss {m['logloss']:.3f}, precision/recall/F1 at "
             f"threshold {m['threshold']:.2f}: {m['precision']:.2f}/{m['recall']:.2f}/"
             f"{m['f1']:.2f}, lift in the top decile {m['lift_top_decile']:.2f}.")
    rows = gains[["decile", "n", "positives", "rate", "lift", "cum_share_positives"]]
    return Section(title=f"Predictive score: {meta['name']}", page="predictive", intro=intro,
                   figures=[roc, pr, calib, gchart, importance, dist],
                   tables_html=[table_html(rows.to_dict(orient="records"))])


def build(ctx: ReportContext) -> list[Section]:
    """One section per registered model (latest version); [] when none is registered."""
    try:
        latest = {m["name"]: m["version"] for m in ctx.models.list()}
    except (InsightloopError, OSError, ValueError):
        return []
    sections = []
    for name, version in sorted(latest.items()):
        ref = f"{name}:{version}"
        try:
            meta = ctx.models.metadata(ref)
            ev = ctx.models.evaluation(ref)
        except (InsightloopError, OSError, ValueError):
            continue
        if ev is None or ev["y"].nunique() < 2 or "metrics" not in meta:
            continue
        sections.append(_section(ctx, meta, ev))
    return sections
