"""``insightloop segments build`` (RFM, value tiers, clusters) and ``insightloop segments show``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from insightloop.cli.app import segments_app
from insightloop.cli.common import (
    JsonOpt,
    WarehouseOpt,
    choice,
    console,
    context_for,
    print_json,
)

MethodOpt = Annotated[str, typer.Option(
    "--method", parser=choice(("kmeans", "gmm"), "--method"),
    help="kmeans (k by silhouette) or gmm (Gaussian mixture, k by BIC).")]
KOpt = Annotated[int | None, typer.Option(
    "--k", help="Number of segments; default: chosen automatically over 2..8.", min=1)]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random state of the clustering.")]


@segments_app.command("build")
def build(method: MethodOpt = "kmeans", k: KOpt = None, seed: SeedOpt = 0,
          high_share: Annotated[float, typer.Option(
              "--high-share", min=0.0, max=1.0,
              help="Share of customers (by value) in the high tier.")] = 0.2,
          medium_share: Annotated[float, typer.Option(
              "--medium-share", min=0.0, max=1.0,
              help="Share of customers in the medium tier, after the high tier.")] = 0.3,
          high_value: Annotated[float | None, typer.Option(
              "--high-value", help="Absolute value threshold of the high tier "
                                   "(with --medium-value; replaces the shares).")] = None,
          medium_value: Annotated[float | None, typer.Option(
              "--medium-value", help="Absolute value threshold of the medium tier.")] = None,
          warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Score RFM + value tiers (table `rfm`) and cluster profiles into segments.

    Value is predicted CLV when `insightloop clv build` has run, else net spend.
    """
    # lazy: segmentation loads scikit-learn; the CLI starts without it
    from insightloop.services.segments import build_segments

    ctx = context_for(warehouse)
    tiers = {"high_share": high_share, "medium_share": medium_share,
             "high_threshold": high_value, "medium_threshold": medium_value}
    summary = build_segments(ctx, method=method, k=k, seed=seed, tier_options=tiers)
    if json_:
        print_json(summary)
        return
    sel = summary["selection"]
    scores = ", ".join(f"k={kk}: {v:.3f}" for kk, v in sel["scores"].items() if v is not None)
    console.print(f"{summary['customers']:,} customers → {summary['k']} segments by "
                  f"{summary['method']} ({sel['metric']}: {scores}); value from "
                  f"{summary['value_source']}")
    _table(summary["segments"])
    console.print(f"→ tables `rfm`, `segment_members`, `segments` in {ctx.settings.warehouse}")


@segments_app.command("show")
def show(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Show the segments last built, with descriptions and strategies."""
    # lazy: segmentation loads scikit-learn; the CLI starts without it
    from insightloop.services.segments import show_segments

    summary = show_segments(context_for(warehouse))
    if json_:
        print_json(summary)
        return
    _table(summary["segments"])


def _table(segments: Sequence[Mapping[str, Any]]) -> None:
    grid = Table(title="segments")
    for col, justify in (("id", "right"), ("name", "left"), ("size", "right"),
                         ("share", "right"), ("value", "right"), ("strategy", "left"),
                         ("description", "left")):
        grid.add_column(col, justify=justify)  # type: ignore[arg-type]
    for s in segments:
        grid.add_row(str(s["segment_id"]), s["name"], f"{s['size']:,}", f"{s['share']:.0%}",
                     f"{s['value_share']:.0%}", s["strategy"], s["description"])
    console.print(grid)
