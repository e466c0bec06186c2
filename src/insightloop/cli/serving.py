"""``insightloop serving build|status``: the point-lookup store behind the hot API endpoints."""

from __future__ import annotations

from typing import Annotated

import typer

from insightloop.cli.app import app
from insightloop.cli.common import JsonOpt, WarehouseOpt, console, context_for, print_json

serving_app = typer.Typer(help="The serving store (ready answers for the hot API endpoints).",
                          no_args_is_help=True)
app.add_typer(serving_app, name="serving")


@serving_app.command("build")
def build(
    top: Annotated[int, typer.Option(
        "--top", min=1, max=100,
        help="Recommendations stored per customer (old spelling: --top-n).")] = 50,
    warehouse: WarehouseOpt = None, json_: JsonOpt = False,
) -> None:
    """Write the serving store next to the warehouse (profiles, scores, recommendations).

    `insightloop serve` builds it when missing or stale, and API jobs rebuild it; run this
    after builds done from the CLI to have it ready before the server starts.
    """
    # lazy: the serving store's context loads the model registry (scipy)
    from insightloop.services.serving import build_store

    def say(msg: str) -> None:
        if not json_:
            console.print(msg, highlight=False)

    out = build_store(context_for(warehouse), top_n=top, on_progress=say)
    if json_:
        print_json(out)
        return
    console.print(f"serving store {out['path']}: {out['customers']:,} customers, "
                  f"{out['recommended_customers']:,} with recommendations (top {out['top_n']}), "
                  f"{out['bytes'] / 1e6:,.1f} MB in {out['seconds']} s", highlight=False)


@serving_app.command("status")
def status(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Whether the store exists and matches the warehouse (fresh) or must be rebuilt."""
    # lazy: the serving store's context loads the model registry (scipy)
    from insightloop.services.serving import store_status

    out = store_status(context_for(warehouse))
    if json_:
        print_json(out)
        return
    state = ("fresh" if out["fresh"] else "stale: run `insightloop serving build`") \
        if out["exists"] else "missing: run `insightloop serving build`"
    console.print(f"serving store {out['path']}: {state}", highlight=False)
