"""``insightloop quality``: data-quality report of the warehouse, plus the HTML report."""

from __future__ import annotations

from rich.table import Table

from insightloop.cli.app import app
from insightloop.cli.common import JsonOpt, WarehouseOpt, console, print_json, settings_for


@app.command("quality")
def quality(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Show missing values, duplicates, outliers, cancellations and quarantine; write the report."""
    from insightloop.report.builder import write_report
    from insightloop.report.pages.b_quality import issue_rows
    from insightloop.services.quality import quality_report
    from insightloop.storage.warehouse import Warehouse

    settings = settings_for(warehouse)
    report = quality_report(Warehouse.from_settings(settings))
    path = write_report(settings)
    if json_:
        print_json(report.as_dict() | {"report": str(path)})
        return
    grid = Table(title="rows and missing values")
    for col in ("table", "rows", "columns with missing values"):
        grid.add_column(col, justify="left" if col != "rows" else "right")
    for t in report.tables:
        missing = ", ".join(f"{m.column} {m.missing:,} ({m.pct:.2f}%)" for m in t.missing
                            if m.missing) or "none"
        grid.add_row(t.table, f"{t.rows:,}", missing)
    console.print(grid)
    issues = Table(title="flagged (nothing deleted)")
    for col in ("table", "check", "rows", "rule"):
        issues.add_column(col, justify="right" if col == "rows" else "left")
    for row in issue_rows(report):
        issues.add_row(row["table"], row["check"], f"{row['rows']:,}", row["rule"])
    console.print(issues)
    q = report.quarantine
    reasons = Table(title=f"quarantine: {q.total:,} rows "
                          + (f"({', '.join(f'{k} {v:,}' for k, v in q.by_table.items())})"
                             if q.by_table else ""))
    for col in ("table", "column", "reason", "rows"):
        reasons.add_column(col, justify="right" if col == "rows" else "left")
    for r in q.top_reasons:
        reasons.add_row(r["table"], r["column"], r["reason"], f"{r['rows']:,}")
    console.print(reasons)
    console.print(f"report: {path}", soft_wrap=True, highlight=False)
