"""``insightloop quality``: data-quality report of the warehouse, plus the HTML report."""

from __future__ import annotations

from rich.table import Table

from insightloop.cli.app import app
from insightloop.cli.common import (
    JsonOpt,
    WarehouseOpt,
    console,
    context_for,
    err_console,
    print_json,
)


@app.command("quality")
def quality(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Show missing values, duplicates, outliers, cancellations and quarantine; write the report.

    The warehouse is only read. When the HTML report cannot be written (read-only
    folder, a file in the way, disk full) the tables are still shown and a warning
    says why; the exit code stays 0.
    """
    # lazy: the report and the quality service load pandas and plotly, unused at CLI start
    from insightloop.report.builder import ReportWriteError, write_report
    from insightloop.report.pages.b_quality import issue_rows
    from insightloop.services.quality import quality_report

    ctx = context_for(warehouse)
    report = quality_report(ctx)
    try:
        path, problem = write_report(ctx), None
    except ReportWriteError as exc:
        path, problem = None, str(exc)
    if json_:
        print_json(report.as_dict() | {"report": str(path) if path else None,
                                       "report_error": problem})
        _warn(problem)
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
    if path is not None:
        console.print(f"report: {path}", soft_wrap=True, highlight=False)
    _warn(problem)


def _warn(problem: str | None) -> None:
    if problem:
        err_console.print(f"[yellow]Warning[/]: the quality report is complete, but {problem}",
                          soft_wrap=True, highlight=False)
