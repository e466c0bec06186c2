"""``insightloop profiles build`` and ``insightloop profile CUSTOMER_ID``."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from insightloop.cli.app import app, profiles_app
from insightloop.cli.common import (
    JsonOpt,
    WarehouseOpt,
    console,
    context_for,
    print_json,
    progress_bar,
)
from insightloop.errors import ConfigError

AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Use only data before this date (YYYY-MM-DD[ HH:MM]); default: after the "
                    "last order.")]


def parse_date(value: str | None, option: str = "--as-of") -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} expects an ISO date like 2011-09-01, got {value!r}") from None


@profiles_app.command("build")
def build(as_of: AsOfOpt = None, warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Build the customer 360 table `profiles` (point-in-time with --as-of)."""
    # lazy: profiles compile with ibis; the CLI starts without it
    from insightloop.services.profiles import build_profiles

    ctx = context_for(warehouse)
    with progress_bar("building profiles", enabled=not json_) as update:
        summary = build_profiles(ctx, parse_date(as_of),
                                 on_progress=lambda msg, done, total: update(msg, done, total))
    if json_:
        print_json(summary)
        return
    console.print(f"[bold]{summary['customers']:,}[/] customer profiles as of {summary['as_of']} "
                  f"on {summary['engine']} → table `profiles` in {ctx.settings.warehouse}")


@app.command("profile")
def profile(customer_id: Annotated[str, typer.Argument(help="Customer id.")],
            warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Show one customer's 360 profile (with RFM, CLV, segment, scores when built)."""
    # lazy: profiles compile with ibis; the CLI starts without it
    from insightloop.services.profiles import get_profile

    data = get_profile(context_for(warehouse), customer_id)
    if json_:
        print_json(_clean(data))
        return
    grid = Table(title=f"customer {customer_id}", show_header=False)
    for key, value in data.items():
        items = value if isinstance(value, list) else [value]
        if all(isinstance(item, dict) for item in items):
            for i, item in enumerate(items):
                label = key if len(items) == 1 else f"{key}[{i}]"
                for sub, v in item.items():
                    grid.add_row(f"{label}.{sub}", _show(v))
        else:
            grid.add_row(key, _show(value))
    console.print(grid)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out[k] = _clean(v)
        elif isinstance(v, list):
            out[k] = [_clean(item) for item in v]
        elif isinstance(v, float) and math.isnan(v):
            out[k] = None
        elif v is not None and hasattr(v, "isoformat"):
            out[k] = None if str(v) == "NaT" else v.isoformat()
        elif hasattr(v, "item"):
            item = v.item()
            out[k] = None if isinstance(item, float) and math.isnan(item) else item
        else:
            out[k] = v
    return out


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)

