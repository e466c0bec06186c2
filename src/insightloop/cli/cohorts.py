"""``insightloop cohorts``: build the monthly acquisition cohort table and show retention."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from insightloop.cli.app import app
from insightloop.cli.common import JsonOpt, WarehouseOpt, console, context_for, print_json
from insightloop.cli.profiles import parse_date

AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Use only orders before this date (YYYY-MM-DD); default: all orders.")]
MAX_PERIODS_SHOWN = 12


@app.command("cohorts")
def cohorts(as_of: AsOfOpt = None, warehouse: WarehouseOpt = None,
            json_: JsonOpt = False) -> None:
    """Build table `cohorts` (retention and revenue by first-purchase month) and show it."""
    # lazy: cohorts compile with ibis; the CLI starts without it
    from insightloop.services.cohorts import build_cohorts

    ctx = context_for(warehouse)
    summary = build_cohorts(ctx, parse_date(as_of))
    if json_:
        print_json(summary)
        return
    rows = summary["rows"]
    n_periods = min(summary["periods"], MAX_PERIODS_SHOWN)
    grid = Table(title=f"retention % by months since first purchase "
                       f"({summary['cohorts']} cohorts, {summary['customers']:,} customers)")
    grid.add_column("cohort")
    grid.add_column("customers", justify="right")
    for p in range(n_periods):
        grid.add_column(f"m{p}", justify="right")
    by_cohort: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    for r in rows:
        key = str(r["cohort_month"])[:7]
        sizes[key] = int(r["customers"])
        if r["period"] < n_periods:
            by_cohort.setdefault(key, []).append(f"{100 * r['retention']:.0f}")
    for key, cells in by_cohort.items():
        grid.add_row(key, f"{sizes[key]:,}", *cells)
    console.print(grid)
    console.print(f"→ table `cohorts` in {ctx.settings.warehouse}" if summary.get("stored", True)
                  else "(read-only warehouse: shown, table `cohorts` not stored)")
