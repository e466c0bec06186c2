"""Predictive scores: ``train``, ``score``, ``explain``, ``models list/show``,
``evaluate classify``."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from insightloop.capabilities.predict import TASKS
from insightloop.cli.app import app, evaluate_app, models_app
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
from insightloop.cli.profiles import parse_date
from insightloop.errors import ConfigError

TASK_CHOICES = (*TASKS, "target")
CLASSIFIERS = ("auto", "lightgbm", "logistic", "blend")
ModelOpt = Annotated[str, typer.Option(
    "--model", parser=choice(CLASSIFIERS, "--model"),
    help="auto (choose by inner CV) | lightgbm | logistic | blend.")]
DropOpt = Annotated[list[str] | None, typer.Option(
    "--drop", help="Column to leave out of the features (repeatable), e.g. a leaking one.")]


def _metrics_line(m: Mapping[str, Any]) -> str:
    return (f"AUC {m['auc']:.4f}  PR-AUC {m['pr_auc']:.4f}  log loss {m['logloss']:.4f}  "
            f"P/R/F1 {m['precision']:.3f}/{m['recall']:.3f}/{m['f1']:.3f}  "
            f"lift@top decile {m['lift_top_decile']:.2f}")


@evaluate_app.command("classify")
def evaluate_classify(
    data: Annotated[Path, typer.Option("--data", help="CSV (delimiter sniffed), Parquet, JSONL.")],
    target: Annotated[str, typer.Option("--target", help="Binary target column.")],
    positive: Annotated[str | None, typer.Option(
        "--positive", help="Target value meaning positive (needed unless 0/1).")] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, max=20, help="Outer CV folds.")] = 5,
    drop: DropOpt = None,
    model: ModelOpt = "auto",
    json_out: JsonOpt = False,
    warehouse: UnusedWarehouseOpt = None,
) -> None:
    """Stratified k-fold CV of the whole classifier pipeline on any file."""
    # lazy: the classifier loads scikit-learn and LightGBM; the CLI starts without them
    from insightloop.services.evaluation import evaluate_classify_file

    # Progress goes to stderr, so --json output on stdout stays one clean object.
    with warnings.catch_warnings(), progress_bar("cross-validating", folds) as update:
        if json_out:
            warnings.simplefilter("ignore")
        result = evaluate_classify_file(
            data, target, positive, folds=folds, drop=drop or [], model=model,
            on_fold=lambda done, n: update(f"fold {done}/{n}", done=done))
    if json_out:
        print_json(result)
        return
    console.print(f"[bold]{result['model']}[/] (per fold: {', '.join(result['models'])}) on "
                  f"{result['rows']:,} rows, {folds}-fold CV")
    console.print(_metrics_line(result))


@app.command("train")
def train(
    task: Annotated[str, typer.Argument(parser=choice(TASK_CHOICES, "TASK"),
                                        help=" | ".join(TASK_CHOICES) + ".")],
    as_of: Annotated[list[str] | None, typer.Option(
        "--as-of", help="Training as-of date (repeatable; default: three dates spaced by the "
                        "horizon). For `target` with --data: join the file to profiles "
                        "before this date.")] = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=1,
                                              help="Label window in days.")] = 90,
    test_as_of: Annotated[str | None, typer.Option(
        "--test-as-of", help="Later as-of date held out as the test set.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Registry name.")] = None,
    model: ModelOpt = "auto",
    data: Annotated[Path | None, typer.Option("--data", help="`target`: the file.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="`target`: column.")] = None,
    positive: Annotated[str | None, typer.Option("--positive",
                                                 help="`target`: positive value.")] = None,
    drop: DropOpt = None,
    warehouse: WarehouseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Train a predictive score and register it (churn, propensity, response or any target)."""
    # lazy: training loads scikit-learn and LightGBM; the CLI starts without them
    from insightloop.services.training import train_target_file, train_task

    ctx = context_for(warehouse)
    dates = [d for d in (parse_date(v) for v in as_of or []) if d is not None]
    with (progress_bar(f"training {task}", enabled=not json_out) as update,
          warnings.catch_warnings(record=True) as caught):
        warnings.simplefilter("always")
        if task == "target":
            if data is None or target is None:
                raise ConfigError("`train target` needs --data FILE and --target COLUMN")
            if len(dates) > 1:
                raise ConfigError("`train target` takes at most one --as-of")
            meta = train_target_file(ctx, data, target, positive, name=name,
                                     drop=drop or [], model=model,
                                     as_of=dates[0] if dates else None)
        else:
            meta = train_task(ctx, task, dates or None, horizon_days, name=name,
                              model=model, test_as_of=parse_date(test_as_of, "--test-as-of"),
                              on_step=lambda m, done, total: update(m, done, total))
    info: Mapping[str, Any] = meta
    summary = {k: info[k] for k in ("name", "version", "task", "model", "rows", "threshold",
                                    "as_of_dates", "test_as_of", "cv_auc")}
    summary["metrics"] = info["metrics"]
    summary["dropped"] = info["dropped"]
    summary["warnings"] = _ours(caught)
    if json_out:
        print_json(summary)
        return
    console.print(f"registered [bold]{meta['name']}:v{meta['version']}[/] ({meta['model']}) "
                  f"on {meta['rows']:,} examples; metrics {meta['metrics']['evaluated_on']}:")
    console.print(_metrics_line(meta["metrics"]))
    if meta["dropped"]:
        console.print(f"not used: {meta['dropped']}")
    for msg in summary["warnings"]:
        console.print(f"[yellow]warning[/]: {msg}")


@app.command("score")
def score(
    model_ref: Annotated[str, typer.Argument(help="Model NAME[:VERSION].")] = "churn",
    data: Annotated[Path | None, typer.Option(
        "--data", help="Score this file instead of the warehouse profiles.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="With --data: output file.")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Profiles before this date (default: all loaded data).")] = None,
    reasons: Annotated[int, typer.Option("--reasons", min=0, max=10,
                                         help="Reasons kept per customer.")] = 3,
    warehouse: WarehouseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Score customers into table `scores` (or a file with --data) and check drift."""
    # lazy: scoring loads scikit-learn and LightGBM; the CLI starts without them
    from insightloop.services.scoring import score_file, score_warehouse

    ctx = context_for(warehouse)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scored: Mapping[str, Any] = (
            score_file(ctx, model_ref, data, out, top=reasons) if data is not None
            else score_warehouse(ctx, model_ref, parse_date(as_of), top=reasons))
    result = {**scored, "warnings": _ours(caught)}
    if json_out:
        print_json(result)
        return
    n = result.get("customers", result.get("rows"))
    where = f"file {result['out']}" if data is not None and out else "table `scores`"
    console.print(f"scored {n:,} rows with [bold]{result['model']}:v{result['version']}[/] → "
                  f"{where if data is None or out else 'nothing written (no --out)'}; "
                  f"{result['positives']:,} above the threshold")
    for msg in result["warnings"]:
        console.print(f"[yellow]warning[/]: {msg}")


@app.command("explain")
def explain(
    customer_id: Annotated[str, typer.Argument(help="Customer id.")],
    model_ref: Annotated[str, typer.Option("--model", help="Model NAME[:VERSION].")] = "churn",
    top: Annotated[int, typer.Option("--top", min=1, max=20, help="Reasons shown.")] = 5,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Profile before this date.")]
    = None,
    warehouse: WarehouseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Why a customer has their score: the strongest reasons in plain words."""
    # lazy: scoring loads scikit-learn and LightGBM; the CLI starts without them
    from insightloop.services.scoring import explain_customer

    result = explain_customer(context_for(warehouse), model_ref, customer_id,
                              parse_date(as_of), top=top)
    if json_out:
        print_json(result)
        return
    console.print(f"customer [bold]{result['customer_id']}[/]: {result['label']} "
                  f"{result['score']:.2f} ({result['model']}:v{result['version']}, threshold "
                  f"{result['threshold']:.2f}, as of {result['as_of']})")
    for reason in result["reasons"]:
        console.print(f"  • {reason['text']}")


@models_app.command("list")
def models_list(warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """Registered models and versions."""
    ctx = context_for(warehouse)
    rows = ctx.models.list()
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("no models registered yet; train one with `insightloop train churn`")
        return
    table = Table("name", "version", "task", "model", "rows", "AUC", "features", "created")
    for r in rows:
        table.add_row(str(r["name"]), str(r["version"]), str(r["task"]), str(r["model"]),
                      f"{r['rows']:,}" if r["rows"] is not None else "",
                      f"{r['auc']:.4f}" if r["auc"] is not None else "",
                      str(r["features"]), str(r["created_at"]))
    console.print(table)


@models_app.command("show")
def models_show(
    model_ref: Annotated[str, typer.Argument(help="Model NAME[:VERSION].")],
    warehouse: WarehouseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Metadata of one model: data window, features, metrics, libraries, hash."""
    meta = context_for(warehouse).models.metadata(model_ref)
    if json_out:
        print_json(meta)
        return
    console.print(f"[bold]{meta['name']}:v{meta['version']}[/] {meta['task']} "
                  f"({meta['model']}), created {meta['created_at']}, sha256 "
                  f"{meta['sha256'][:16]}…")
    console.print(f"target: {meta.get('target')}; as-of dates: {meta.get('as_of_dates')}; "
                  f"test as-of: {meta.get('test_as_of')}; rows {meta['rows']:,}")
    console.print(f"metrics ({meta['metrics']['evaluated_on']}): {_metrics_line(meta['metrics'])}")
    table = Table("feature", "kind", "importance share")
    kinds = meta["features"]
    for imp in meta.get("importance", [])[:15]:
        table.add_row(imp["feature"], kinds.get(imp["feature"], ""), f"{imp['share']:.1%}")
    console.print(table)
    console.print(f"libraries: {meta['libraries']}")


def _ours(caught: list[warnings.WarningMessage]) -> list[str]:
    """Messages of the data warnings insightloop raises (library deprecations left out)."""
    # lazy: the classifier package loads scikit-learn; the CLI starts without it
    from insightloop.models.classify.drift import DriftWarning
    from insightloop.models.classify.typing import DataQualityWarning, UnseenCategoryWarning

    kinds = (DriftWarning, DataQualityWarning, UnseenCategoryWarning)
    return list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, kinds)))
