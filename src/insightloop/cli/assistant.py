"""The language-model assistant: ``audiences from-text``, ``evaluate assistant``,
``assistant copy|approve`` (docs/assistant.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from insightloop.cli.app import app, evaluate_app
from insightloop.cli.audiences import audiences_app
from insightloop.cli.common import JsonOpt, WarehouseOpt, choice, console, context_for, print_json
from insightloop.errors import InputFileError

assistant_app = typer.Typer(help="Fact-checked campaign copy and review summaries.",
                            no_args_is_help=True)
app.add_typer(assistant_app, name="assistant")

PROVIDERS = ("rule", "local", "endpoint")
ProviderOpt = Annotated[str | None, typer.Option(
    "--provider", parser=choice(PROVIDERS, "--provider"),
    help="rule (default: measures best) | local (packaged SmolLM2-135M, numpy) | endpoint "
         "(INSIGHTLOOP_LLM_URL). Default: $INSIGHTLOOP_LLM_PROVIDER or rule.")]


@audiences_app.command("from-text")
def from_text(
    text: Annotated[str, typer.Argument(help="The audience in plain English or Chinese, e.g. "
                                             "\"UK customers who haven't bought in 3 months\".")],
    provider: ProviderOpt = None,
    save: Annotated[str | None, typer.Option(
        "--save", help="Save the audience under this name (needs --yes).")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm --save.")] = False,
    warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """Turn a plain-language request into a validated audience filter with a live preview."""
    # lazy: the assistant service loads the audiences service (SQLAlchemy) and the providers
    from insightloop.services.assistant import audience_from_text, llm_settings, provider_for

    settings = llm_settings(provider)
    out: Any = audience_from_text(context_for(warehouse), text, provider_for(settings),
                                  settings, save=save, confirm=yes)
    if json_out:
        print_json(out)
        return
    console.print(f"[bold]{escape(out['canonical'])}[/]  ({out['provider']})")
    console.print(f"{escape(out['explanation'])}")
    console.print(f"{out['count']:,} of {out['total']:,} customers: "
                  f"{escape(', '.join(out['customer_ids'][:10]))}"
                  + (" ..." if out["count"] > 10 else ""))
    if out["saved"]:
        console.print(f"saved as [bold]{escape(out['saved'])}[/]")
    elif not save:
        console.print("[dim]not saved: add --save NAME --yes to keep it[/]")


@evaluate_app.command("assistant")
def evaluate_assistant_cmd(
    provider: ProviderOpt = None,
    requests: Annotated[Path | None, typer.Option(
        "--requests", help="JSONL of {text, gold, split, lang} (default: the shipped set).")
                        ] = None,
    briefs: Annotated[Path | None, typer.Option(
        "--briefs", help="JSONL of copy briefs (default: the shipped set).")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, help="An evenly spaced N of the requests (and N/2 of the briefs), "
                               "for slow providers.")] = None,
    warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """Execution accuracy (same customers as the gold filter), latency and the copy
    fact-check pass rate of a provider on the shipped bilingual evaluation set."""
    # lazy: the assistant service loads the audiences service (SQLAlchemy) and the providers
    from insightloop.services.assistant import evaluate_assistant, llm_settings, provider_for

    settings = llm_settings(provider)
    out: Any = evaluate_assistant(context_for(warehouse), provider_for(settings), settings,
                                  requests, briefs, limit)
    if json_out:
        print_json(out)
        return
    for part, score in out["audiences"].items():
        console.print(f"{part:>12}: {score['correct']}/{score['requests']} = "
                      f"{score['accuracy']:.3f}")
    console.print(f"latency mean {out['latency_mean_s']:.3f} s, p95 {out['latency_p95_s']:.3f} s;"
                  f" copy fact-check pass rate {out['copy_fact_check_pass_rate']}")


def _read_brief(path: Path) -> dict[str, Any]:
    try:
        brief = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(f"cannot read the brief {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}: line {exc.lineno} column {exc.colno} is not JSON "
                             f"({exc.msg})") from None
    if not isinstance(brief, dict):
        raise InputFileError(f"{path}: a brief is one JSON object with \"id\" and \"facts\"")
    return brief


@assistant_app.command("copy")
def copy(brief: Annotated[Path, typer.Option("--brief", help="JSON brief: {id, lang, facts}.")],
         provider: ProviderOpt = None, warehouse: WarehouseOpt = None,
         json_out: JsonOpt = False) -> None:
    """Subject lines and bodies from a brief, each fact-checked and stored unapproved."""
    # lazy: the assistant service loads the audiences service (SQLAlchemy) and the providers
    from insightloop.services.assistant import generate_copy, llm_settings, provider_for

    settings = llm_settings(provider)
    rows: Any = generate_copy(context_for(warehouse), _read_brief(brief),
                              provider_for(settings), settings.timeout)
    if json_out:
        print_json({"variants": rows})
        return
    for row in rows:
        mark = "[green]ok[/]" if row["passed"] else f"[red]rejected[/]: {escape(row['problems'])}"
        console.print(f"{row['variant_id']}  {escape(row['subject'])}  {mark}")


@assistant_app.command("approve")
def approve(variant: Annotated[str, typer.Argument(help="Variant id (from `assistant copy`).")],
            by: Annotated[str, typer.Option("--by", help="Who approves it.")],
            warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """Approve a variant that passed the fact check, so a campaign may use it."""
    # lazy: the assistant service loads the audiences service (SQLAlchemy) and the providers
    from insightloop.services.assistant import approve_variant

    out: Any = approve_variant(context_for(warehouse), variant, by)
    if json_out:
        print_json(out)
        return
    console.print(f"{escape(variant)} approved by {escape(out['approved_by'])}")


@assistant_app.command("summarize")
def summarize(
    product: Annotated[str | None, typer.Option("--product", help="Product id.")] = None,
    category: Annotated[str | None, typer.Option("--category", help="Product category.")
                        ] = None,
    window: Annotated[int, typer.Option("--window", min=1,
                                        help="Days compared for the complaint trend.")] = 90,
    warehouse: WarehouseOpt = None, json_out: JsonOpt = False) -> None:
    """Review claims with their evidence (counts, review ids) and complaints by volume and
    trend, per review language."""
    # lazy: the assistant service loads the audiences service (SQLAlchemy) and the providers
    from insightloop.services.assistant import summarize_reviews

    out: Any = summarize_reviews(context_for(warehouse), product, category, window)
    if json_out:
        print_json(out)
        return
    for lang in out["languages"]:
        console.print(f"[bold]{lang['language']}[/]: {lang['reviews']} reviews")
        for claim in lang["claims"]:
            console.print(f"  {escape(claim['text'])}  [dim]{', '.join(claim['review_ids'][:5])}"
                          "[/]")
        for c in lang["complaints"]:
            console.print(f"  complaint {escape(c['aspect'])}: {c['reviews']} ({c['trend']}: "
                          f"{c['recent']} in the last {window} days, {c['before']} before)")
