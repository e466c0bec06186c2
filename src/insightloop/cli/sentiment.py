"""``insightloop sentiment "text"``, ``sentiment score``, ``sentiment train``, ``sentiment show``,
``insightloop topics`` and ``insightloop evaluate sentiment``.

``sentiment`` is a group whose first argument, when it is not a subcommand name,
is a text to score: ``insightloop sentiment "质量很好"`` is
``insightloop sentiment text "质量很好"`` (use the explicit form for a text that
equals a subcommand name, e.g. ``insightloop sentiment text score``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table
from typer._click import Context
from typer.core import TyperGroup

from insightloop.cli.app import app, evaluate_app
from insightloop.cli.common import (
    JsonOpt,
    UnusedWarehouseOpt,
    WarehouseOpt,
    choice,
    console,
    context_for,
    err_console,
    print_json,
    progress_bar,
)


class _TextFirstGroup(TyperGroup):
    """A group that treats an unknown first argument as the text to score."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["text", *args]
        return super().parse_args(ctx, args)


sentiment_app = typer.Typer(
    cls=_TextFirstGroup, no_args_is_help=True,
    help='Review sentiment (zh/en): `insightloop sentiment "text"`, `score`, `train`, `show`.')
app.add_typer(sentiment_app, name="sentiment")

BY = ("product", "category", "customer", "month")
LangOpt = Annotated[str, typer.Option("--lang", parser=choice(("auto", "zh", "en"), "--lang"),
                                      help="auto (detect per text) | zh | en.")]
KIND_HELP = ("baseline (hashed n-grams + logistic regression: the packaged default; not the "
             "plain TF-IDF + LR baseline of the benchmarks) | static (hashed n-grams + static "
             "word vectors distilled from multilingual-e5-small, one logistic regression) | "
             "usem3 (hashed n-grams + USE-m3 sentence embedding) | e5 (hashed n-grams + "
             "multilingual-e5-small sentence embedding: ~10 reviews/s)")
ModelOpt = Annotated[str, typer.Option(
    "--model", help="default (a model retrained by `sentiment train` if any, else the packaged "
                    f"baseline) | {KIND_HELP} | path to a .npz.")]


@sentiment_app.command("text")
def text_cmd(texts: Annotated[list[str], typer.Argument(help="Review text(s) to score.")],
             lang: LangOpt = "auto", model: ModelOpt = "default",
             warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Score one or more texts: label, score in [-1, 1], P(positive), language, aspects."""
    # lazy: the sentiment models load scikit-learn; the CLI starts without them
    from insightloop.services.sentiment import score_texts

    results = score_texts(context_for(warehouse), list(texts), lang=lang, model=model)
    if json_:
        print_json(results[0] if len(results) == 1 else results)
        return
    for text, r in zip(texts, results, strict=True):
        colour = {"positive": "green", "negative": "red"}.get(r["label"], "yellow")
        aspects = ", ".join(f"{a['aspect']}:{a['sentiment']}" for a in r["aspects"])
        console.print(f"[{colour}]{r['label']}[/] score {r['score']:+.2f} "
                      f"(P(positive) {r['probability']:.2f}, {r['language']})"
                      + (f"  aspects: {aspects}" if aspects else "")
                      + ("  [dim](truncated)[/]" if r["truncated"] else ""),
                      highlight=False)
        if len(texts) > 1:
            console.print(f"  [dim]{text[:80]}[/]", highlight=False)


def _progress(label: str) -> Progress:
    return Progress("[progress.description]{task.description}", BarColumn(),
                    MofNCompleteColumn(), TimeRemainingColumn(), console=err_console,
                    transient=True)


@sentiment_app.command("score")
def score_cmd(warehouse: WarehouseOpt = None, model: ModelOpt = "default",
              batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 512,
              json_: JsonOpt = False) -> None:
    """Score every review in the warehouse; writes review_sentiment, review_aspects, profiles."""
    # lazy: the sentiment models load scikit-learn; the CLI starts without them
    from insightloop.services.sentiment import score_reviews

    ctx = context_for(warehouse)
    with _progress("scoring") as bar:
        task = bar.add_task("scoring reviews", total=None)
        result = score_reviews(ctx, batch_size=batch_size, model=model,
                               on_progress=lambda d, t: bar.update(task, completed=d, total=t))
    if json_:
        print_json(result)
        return
    console.print(f"{result['reviews']:,} reviews scored by {result['model']}: "
                  f"{result['positive']:,} positive, {result['negative']:,} negative, "
                  f"{result['neutral']:,} neutral; {result['aspect_mentions']:,} aspect mentions"
                  + (f"; {result['truncated']} truncated" if result["truncated"] else ""))
    console.print(f"→ tables `review_sentiment`, `review_aspects`, `customer_sentiment`, "
                  f"`product_sentiment` in {ctx.settings.warehouse}")


@sentiment_app.command("train")
def train_cmd(data: Annotated[Path, typer.Option("--data", help="Labelled CSV/TSV/Parquet/JSONL.")],
              text: Annotated[str, typer.Option("--text", help="Text column.")],
              label: Annotated[str, typer.Option(
                  "--label", help="Label column: 1/0 or positive/negative.")],
              kind: Annotated[str, typer.Option(
                  "--kind", parser=choice(("baseline", "static", "usem3", "e5"), "--kind"),
                  help=KIND_HELP + ".")
              ] = "baseline",
              output: Annotated[Path | None, typer.Option(
                  "--output", help="Where to save (default: models_dir/sentiment/"
                                   "sentiment.npz, used by later commands).")] = None,
              warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Retrain the sentiment head on your own labelled reviews; later commands use it."""
    # lazy: the sentiment models load scikit-learn; the CLI starts without them
    from insightloop.services.sentiment import train_model

    with progress_bar("training the sentiment head") as update:
        result = train_model(context_for(warehouse), data, text, label, kind=kind,
                             output=output,
                             on_progress=lambda step, done, total: update(
                                 step, done=done, total=total or None))
    if json_:
        print_json(result)
        return
    console.print(f"trained {result['kind']} on {result['rows']:,} reviews "
                  f"({result['positives']:,} positive) in {result['seconds']:.1f}s → "
                  f"{result['path']}")


@sentiment_app.command("show")
def show_cmd(by: Annotated[str, typer.Option(
                 "--by", parser=choice(BY, "--by"), help=" | ".join(BY) + ".")] = "product",
             product: Annotated[str | None, typer.Option(
                 "--product", help="One product's insights (trend, forecast, alert).")] = None,
             top: Annotated[int, typer.Option(
                 "--top", min=1, help="Rows shown (old spelling: --limit).")] = 20,
             warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Satisfaction by product/category/customer/month (worst first), or one product."""
    # lazy: the sentiment models load scikit-learn; the CLI starts without them
    from insightloop.services.sentiment import product_insights, satisfaction, sentiment_trend

    ctx = context_for(warehouse)
    if product is not None:
        result: Any = product_insights(ctx, product)
        if json_:
            print_json(result)
            return
        console.print_json(data=result)
        return
    rows: list[Any] = list(satisfaction(ctx, by))
    trend = sentiment_trend(ctx)
    if json_:
        print_json({"by": by, "rows": rows, "trend": trend})
        return
    grid = Table(title=f"satisfaction by {by}")
    for col in (by, "reviews", "positive", "negative", "net", "top complaints"):
        grid.add_column(col)
    for r in rows[:top]:
        grid.add_row(str(r[by]), f"{r['reviews']:,}", f"{r['positive_share']:.0%}",
                     f"{r['negative_share']:.0%}", f"{r['net_sentiment']:+.2f}",
                     ", ".join(f"{c['aspect']} ({c['count']})" for c in r["top_complaints"]))
    console.print(grid)
    f = trend["forecast"]
    if f["month"]:
        console.print(f"forecast net sentiment {f['month']}: {f['net_sentiment']:+.2f} "
                      f"(trend {f['slope_per_month']:+.3f}/month)")
    for a in trend["alerts"]:
        console.print(f"[red]alert[/]: product {a['product_id']} negative share "
                      f"{a['negative_share_before']:.0%} → {a['negative_share_recent']:.0%} "
                      f"(p = {a['p_value']:.3g})")


@app.command("topics")
def topics_cmd(k: Annotated[int | None, typer.Option("--k", min=2, help="Number of topics "
                                                     "(default: sqrt(n/10), 2..20).")] = None,
               max_reviews: Annotated[int, typer.Option("--max-reviews", min=2)] = 20000,
               seed: Annotated[int, typer.Option("--seed")] = 0,
               show: Annotated[bool, typer.Option(
                   "--show", help="Only list the topics last discovered.")] = False,
               warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Discover review topics (embedding clusters named by keywords); writes review_topics."""
    # lazy: the sentiment models load scikit-learn; the CLI starts without them
    from insightloop.services.sentiment import discover_topics, list_topics

    ctx = context_for(warehouse)
    if show:
        topics = list_topics(ctx)
    else:
        with _progress("embedding") as bar:
            task = bar.add_task("embedding reviews", total=None)
            topics = discover_topics(ctx, k=k, max_reviews=max_reviews, seed=seed,
                                     on_progress=lambda d, t: bar.update(task, completed=d,
                                                                         total=t))["topics"]
    if json_:
        print_json(topics)
        return
    grid = Table(title="review topics")
    for col in ("id", "name", "reviews", "share", "net sentiment", "keywords"):
        grid.add_column(col)
    for t in topics:
        net = t.get("net_sentiment")
        grid.add_row(str(t["topic_id"]), t["name"], f"{t['size']:,}", f"{t['share']:.0%}",
                     "" if net is None else f"{net:+.2f}", t["keywords"])
    console.print(grid)


@evaluate_app.command("sentiment")
def evaluate_sentiment(
    data: Annotated[Path, typer.Option("--data", help="Labelled CSV/TSV/Parquet/JSONL.")],
    text: Annotated[str, typer.Option("--text", help="Text column.")],
    label: Annotated[str, typer.Option("--label", help="Label column: 1/0 or positive/negative.")],
    lang: LangOpt = "auto",
    model: ModelOpt = "default",
    json_out: JsonOpt = False,
    warehouse: UnusedWarehouseOpt = None,
) -> None:
    """Score a labelled file with the shipped model (never trained on it): accuracy, macro F1."""
    # lazy: the sentiment models load scikit-learn; the CLI starts without them
    from insightloop.services.sentiment import evaluate_file

    result = evaluate_file(data, text, label, lang=lang, model=model)
    if json_out:
        print_json(result)
        return
    console.print(f"[bold]{result['model']}[/] ({result['model_description']}) on "
                  f"{result['rows']:,} reviews: accuracy "
                  f"{result['accuracy']:.4f}, macro F1 {result['macro_f1']:.4f}, "
                  f"{result['reviews_per_second']:,.0f} reviews/s; {result['abstained']} "
                  "abstained (neutral), counted by the sign of the probability")
