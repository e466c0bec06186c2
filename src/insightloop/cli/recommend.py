"""``insightloop recommend``: build, show one customer, similar products, basket rules, evaluate.

``insightloop recommend CUSTOMER_ID`` is short for ``insightloop recommend show CUSTOMER_ID``
(the group routes any first word that is not a subcommand to ``show``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer._click import Context
from typer._click.core import Command
from typer.core import TyperGroup

from insightloop.capabilities.recommend import EMBEDDERS, MODELS
from insightloop.cli.app import app, evaluate_app
from insightloop.cli.common import (
    JsonOpt,
    UnusedWarehouseOpt,
    WarehouseOpt,
    choice,
    console,
    context_for,
    print_json,
    progress_bar,
)

SPLITS = ("stratified", "temporal", "leave-last")


class _CustomerFirstGroup(TyperGroup):
    """A group whose unknown first word is a customer id for ``show``."""

    def resolve_command(self, ctx: Context, args: list[str]
                        ) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().resolve_command(ctx, args)


recommend_app = typer.Typer(
    cls=_CustomerFirstGroup, no_args_is_help=True,
    help="Personalised product recommendations: `insightloop recommend build`, then "
         "`insightloop recommend CUSTOMER_ID`.")
app.add_typer(recommend_app, name="recommend")

TopOpt = Annotated[int, typer.Option("--top", min=1, max=1000,
                                     help="Number of products (old spelling: --n).")]


@recommend_app.command("build")
def build(
    model: Annotated[str, typer.Option(
        "--model", parser=choice(("auto", *MODELS), "--model"),
        help=f"auto (chosen on a validation split) | {' | '.join(MODELS)}.")] = "auto",
    top: TopOpt = 10,
    embedder: Annotated[str, typer.Option(
        "--embedder", parser=choice(EMBEDDERS, "--embedder"),
        help="Product text embeddings: use (multilingual USE, cached) | tfidf | none.")
    ] = "use",
    half_life_days: Annotated[float | None, typer.Option(
        "--half-life-days", min=0.001, help="Time decay of interactions (default: none).")
    ] = None,
    max_per_category: Annotated[int | None, typer.Option(
        "--max-per-category", min=1, help="Category diversity cap per customer.")] = None,
    warehouse: WarehouseOpt = None, json_: JsonOpt = False,
) -> None:
    """Fit on orders + events, write table `recommendations` for every customer."""
    # lazy: the recommenders load scipy and scikit-learn; the CLI starts without them
    from insightloop.services.recommend import build_recommendations

    ctx = context_for(warehouse)
    with progress_bar("building recommendations") as update:
        summary = build_recommendations(
            ctx, model=model, n=top, embedder=embedder, half_life_days=half_life_days,
            max_per_category=max_per_category,
            on_step=lambda m, done, total: update(m, done, total))
    if json_:
        print_json(summary)
        return
    console.print(f"{summary['customers']:,} customers × {top} products by "
                  f"[bold]{summary['model']}[/] {summary['params']} "
                  f"({summary['cold_start_customers']:,} cold start), catalogue coverage "
                  f"{summary['coverage']:.1%}, {summary['seconds']:.1f} s")
    console.print(f"→ table `recommendations` in {ctx.settings.warehouse}; model "
                  f"recommender:v{summary['version']}")


@recommend_app.command("show")
def show(customer_id: Annotated[str, typer.Argument(help="Customer id.")], top: TopOpt = 10,
         include_seen: Annotated[bool, typer.Option(
             "--include-seen", help="Allow products the customer already bought.")] = False,
         warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Recommendations for one customer (unknown customers get a cold-start list)."""
    # lazy: the recommenders load scipy and scikit-learn; the CLI starts without them
    from insightloop.services.recommend import show_recommendations

    result = show_recommendations(context_for(warehouse), customer_id, top,
                                  exclude_seen=not include_seen)
    if json_:
        print_json(result)
        return
    console.print(f"customer {result['customer_id']}: {result['model']} ({result['source']})")
    _items(result["items"], with_reason=True)


@app.command("similar")
def similar(product_id: Annotated[str, typer.Argument(help="Product id.")], top: TopOpt = 10,
            warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Products similar to one product (bought together; product text for cold items)."""
    # lazy: the recommenders load scipy and scikit-learn; the CLI starts without them
    from insightloop.services.recommend import similar_items

    result = similar_items(context_for(warehouse), product_id, top)
    if json_:
        print_json(result)
        return
    console.print(f"similar to {result['product_id']} {result['description']}")
    _items(result["items"], with_reason=False)


@app.command("basket-rules")
def basket_rules(
    min_support: Annotated[float, typer.Option("--min-support", min=0.0, max=1.0,
                                               help="Share of baskets with both.")] = 0.01,
    min_confidence: Annotated[float, typer.Option("--min-confidence", min=0.0, max=1.0,
                                                  help="P(B | A).")] = 0.2,
    min_lift: Annotated[float, typer.Option("--min-lift", min=0.0)] = 1.0,
    top: Annotated[int, typer.Option("--top", min=1, help="Rules shown (by lift).")] = 20,
    warehouse: WarehouseOpt = None, json_: JsonOpt = False,
) -> None:
    """Market-basket association rules A → B (support, confidence, lift) for cross-sell."""
    # lazy: the recommenders load scipy and scikit-learn; the CLI starts without them
    from insightloop.services.recommend import basket_rules as rules_service

    result = rules_service(context_for(warehouse), min_support, min_confidence, min_lift, top)
    if json_:
        print_json(result)
        return
    grid = Table(title=f"{len(result['rules'])} rules over {result['baskets']:,} baskets")
    for col in ("if bought", "then buys", "support", "confidence", "lift"):
        grid.add_column(col)
    for r in result["rules"]:
        grid.add_row(f"{r['antecedent']} {r['antecedent_description'] or ''}",
                     f"{r['consequent']} {r['consequent_description'] or ''}",
                     f"{r['support']:.3%}", f"{r['confidence']:.1%}", f"{r['lift']:.1f}")
    console.print(grid)


@evaluate_app.command("recommend")
def evaluate_recommend(
    data: Annotated[Path, typer.Option("--data", help="Interaction file (CSV or Parquet).")],
    user: Annotated[str, typer.Option("--user", help="User id column.")],
    item: Annotated[str, typer.Option("--item", help="Item id column.")],
    time: Annotated[str | None, typer.Option("--time", help="Time column (temporal splits)."
                                             )] = None,
    weight: Annotated[str | None, typer.Option(
        "--weight", help="Weight column (default: every row counts 1).")] = None,
    split: Annotated[str, typer.Option(
        "--split", parser=choice(SPLITS, "--split"), help=" | ".join(SPLITS) + ".")
    ] = "stratified",
    test_ratio: Annotated[float, typer.Option("--test-ratio", min=0.01, max=0.99)] = 0.25,
    seed: Annotated[int, typer.Option("--seed")] = 42,
    top: Annotated[int, typer.Option(
        "--top", min=1, help="Cut-off k of the metrics @k (old spelling: --k).")] = 10,
    model: Annotated[str, typer.Option(
        "--model", parser=choice(("auto", *MODELS), "--model"),
        help=f"auto | {' | '.join(MODELS)}.")] = "auto",
    half_life_days: Annotated[float | None, typer.Option(
        "--half-life-days", min=0.001, help="Decay interaction weights by age (needs --time).")
    ] = None,
    json_out: JsonOpt = False,
    warehouse: UnusedWarehouseOpt = None,
) -> None:
    """Hold-out ranking metrics (precision/recall/nDCG/MAP@k, coverage) on any file."""
    # lazy: the recommenders load scipy and scikit-learn; the CLI starts without them
    from insightloop.services.recommend import evaluate_recommend_file

    with progress_bar("evaluating") as update:
        result = evaluate_recommend_file(data, user, item, time, weight, split, test_ratio, seed,
                                         top, model, half_life_days=half_life_days,
                                         on_step=lambda m, done, total: update(m, done, total))
    if json_out:
        print_json(result)
        return
    console.print(f"[bold]{result['model']}[/] on {result['users']:,} users × "
                  f"{result['items']:,} items, fit {result['fit_seconds']:.2f} s")
    console.print("  ".join(f"{key} {v:.4f}" for key, v in result.items()
                            if isinstance(v, float) and key != "fit_seconds"))


def _items(items: Sequence[Mapping[str, Any]], with_reason: bool) -> None:
    grid = Table()
    for col in ("#", "product", "description", "score", *(["reason"] if with_reason else [])):
        grid.add_column(col)
    for i, it in enumerate(items, 1):
        grid.add_row(str(i), it["product_id"], it["description"], f"{it['score']:.4g}",
                     *([it["reason"]] if with_reason else []))
    console.print(grid)
