"""Report page: data quality (missing values, duplicates, outliers, cancellations, quarantine)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from insightloop.errors import InsightloopError
from insightloop.report.base import ReportContext, Section, table_html
from insightloop.services.quality import quality_report

if TYPE_CHECKING:
    from insightloop.features.quality import QualityReport


def issue_rows(report: QualityReport) -> list[dict[str, Any]]:
    """One row per flagged issue: what, how many, and the rule (nothing was deleted)."""
    rows: list[dict[str, Any]] = []
    for t in report.tables:
        rows.append({"table": t.table, "check": "exact duplicate rows",
                     "rows": t.duplicate_rows,
                     "rule": f"{t.duplicate_groups:,} groups of equal rows (derived key aside)"})
    for o in report.outliers:
        rows.append({"table": "orders", "check": f"{o.column} outliers", "rows": o.count,
                     "rule": f"outside [{o.lower:,.4g}, {o.upper:,.4g}]; {o.method}"
                     if o.lower is not None and o.upper is not None else o.method})
    if report.cancellations:
        c = report.cancellations
        rows += [
            {"table": "orders", "check": "cancellation/return lines", "rows": c.lines,
             "rule": f"{c.orders:,} orders, value {c.value:,.2f}"},
            {"table": "orders", "check": "cancellations without earlier purchase",
             "rows": c.unmatched_lines,
             "rule": "same customer and product, at or before; guest lines excluded"},
            {"table": "orders", "check": "over-cancelled customer+product pairs",
             "rows": c.over_cancelled_pairs, "rule": "cancelled quantity > purchased"},
        ]
    if report.sanity:
        s = report.sanity
        rows += [
            {"table": "orders", "check": "zero-price lines", "rows": s.zero_price_lines,
             "rule": "unit_price = 0"},
            {"table": "orders", "check": "guest lines", "rows": s.guest_lines,
             "rule": f"customer_id missing ({s.guest_pct:.2f}%)"},
            {"table": "orders", "check": "extreme quantities", "rows": s.extreme_quantity_lines,
             "rule": f"|quantity| >= {s.extreme_quantity_threshold:,}"},
            {"table": "orders", "check": "currencies", "rows": len(s.currencies),
             "rule": ("MIXED: " if s.mixed_currencies else "")
             + ", ".join(f"{k} {v:,}" for k, v in s.currencies.items())},
        ]
    return rows


def build(ctx: ReportContext) -> list[Section]:
    """Data-quality section; [] when the warehouse does not exist yet."""
    # lazy: plotly (0.4-0.5 s) only when a page is built, not when the module is imported
    import plotly.graph_objects as go

    try:
        report = quality_report(ctx)
    except InsightloopError:
        return []
    if not report.tables and not report.quarantine.total:
        return []
    figures = []
    labels = [f"{t.table}.{m.column}" for t in report.tables for m in t.missing if m.missing]
    pcts = [m.pct for t in report.tables for m in t.missing if m.missing]
    if labels:
        fig = go.Figure(go.Bar(x=pcts, y=labels, orientation="h", marker_color="#c0504d"))
        fig.update_layout(title="Missing values (% of rows)", xaxis_title="% missing",
                          height=max(260, 24 * len(labels) + 120), margin={"l": 180})
        figures.append(fig)
    reasons = [{k: r[k] for k in ("table", "column", "reason", "rows")}
               for r in report.quarantine.top_reasons]
    tables = ", ".join(f"{t.table} {t.rows:,}" for t in report.tables) or "no rows"
    intro = (f"Rows per table: {tables}. Quarantined rows: {report.quarantine.total:,}. "
             "Duplicates and outliers are flagged here, never deleted.")
    return [Section(title="Data quality", page="quality", intro=intro, figures=figures,
                    tables_html=[table_html(issue_rows(report)), table_html(reasons)])]
