"""Engagement: ``consent show``, ``suppress add|remove|list|import``, ``journeys
create|list|show|tick``, ``sendtime build``, ``preview`` and ``evaluate sendtime``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from insightloop.cli.app import app, evaluate_app
from insightloop.cli.common import (
    JsonOpt,
    UnusedWarehouseOpt,
    WarehouseOpt,
    console,
    context_for,
    print_json,
)
from insightloop.errors import ConfigError, InputFileError

consent_app = typer.Typer(help="Consent records and what they allow.", no_args_is_help=True)
suppress_app = typer.Typer(help="The suppression list: ids or addresses nobody contacts.",
                           no_args_is_help=True)
journeys_app = typer.Typer(help="Event-triggered journeys and their scheduler.",
                           no_args_is_help=True)
sendtime_app = typer.Typer(help="Send-time optimisation.", no_args_is_help=True)
app.add_typer(consent_app, name="consent")
app.add_typer(suppress_app, name="suppress")
app.add_typer(journeys_app, name="journeys")
app.add_typer(sendtime_app, name="sendtime")

ChannelOpt = Annotated[str, typer.Option("--channel", help="A channel (email, webhook, "
                                                           "outbox) or * for all.")]
NowOpt = Annotated[str | None, typer.Option(
    "--now", help="The time to act at (ISO, UTC), for replays and tests; default: now.")]


def _now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--now expects an ISO time like 2024-03-04T12:00, got "
                          f"{value!r}") from None


def _text(path: Path | None, option: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{option} {path}: cannot read the template "
                             f"({getattr(exc, 'strerror', None) or exc})") from None


@consent_app.command("show")
def consent_show(customer: str, now: NowOpt = None, warehouse: WarehouseOpt = None,
                 json_: JsonOpt = False) -> None:
    """A customer's consent records, the newest per channel/purpose and each channel's
    verdict now."""
    # lazy: the engagement services load pandas, duckdb and SQLAlchemy
    from insightloop.services.engagement.consent import consent_view

    view = consent_view(context_for(warehouse), customer, _now(now))
    if json_:
        print_json(view)
        return
    for r in view["records"]:
        console.print(f"{r['consent_time']}  {r['channel']}/{r['purpose']}: "
                      f"{'grant' if r['granted'] else 'withdraw'}")
    for channel, reason in view["eligible"].items():
        console.print(f"{channel}: {'eligible' if reason is None else reason}")


@suppress_app.command("add")
def suppress_add(values: list[str], channel: ChannelOpt = "*",
                 reason: Annotated[str, typer.Option("--reason")] = "",
                 warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Suppress customer ids or addresses (anything with @)."""
    # lazy: the engagement services load pandas, duckdb and SQLAlchemy
    from insightloop.services.engagement import add_suppressions

    out = add_suppressions(context_for(warehouse), values, channel, reason)
    print_json(out) if json_ else console.print(
        f"added {out['added']}, {out['total']} on the list")


@suppress_app.command("remove")
def suppress_remove(value: str, channel: ChannelOpt = "*", warehouse: WarehouseOpt = None,
                    json_: JsonOpt = False) -> None:
    """Take an id or address off the list."""
    # lazy: the engagement services load pandas, duckdb and SQLAlchemy
    from insightloop.services.engagement import remove_suppression

    out = remove_suppression(context_for(warehouse), value, channel)
    print_json(out) if json_ else console.print(f"removed, {out['total']} on the list")


@suppress_app.command("list")
def suppress_list(channel: Annotated[str | None, typer.Option("--channel")] = None,
                  warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Every entry, newest first."""
    # lazy: the engagement services load pandas, duckdb and SQLAlchemy
    from insightloop.services.engagement import list_suppressions

    frame = list_suppressions(context_for(warehouse), channel)
    if json_:
        print_json({"suppressions": frame.to_dict("records")})
        return
    for row in frame.itertuples(index=False):
        console.print(f"{row.kind} {row.value} ({row.channel}) {row.reason} {row.added_at}")


@suppress_app.command("import")
def suppress_import(file: Path, column: Annotated[str | None, typer.Option(
        "--column", help="The column of ids or addresses (default: the first).")] = None,
                    channel: ChannelOpt = "*", warehouse: WarehouseOpt = None,
                    json_: JsonOpt = False) -> None:
    """Add every value of a column of a CSV/Parquet/JSONL file."""
    # lazy: the engagement services load pandas, duckdb and SQLAlchemy
    from insightloop.services.engagement import import_suppressions

    out = import_suppressions(context_for(warehouse), file, column, channel)
    print_json(out) if json_ else console.print(
        f"added {out['added']}, {out['total']} on the list")


@journeys_app.command("create")
def journeys_create(file: Path, replace: Annotated[bool, typer.Option("--replace")] = False,
                    now: NowOpt = None, warehouse: WarehouseOpt = None,
                    json_: JsonOpt = False) -> None:
    """Store a journey from a YAML or JSON file (its start is --now)."""
    # lazy: the journeys load the campaigns, pandas and SQLAlchemy
    from insightloop.services.journeys import create_journey, load_journey

    out = create_journey(context_for(warehouse), load_journey(file), _now(now), replace)
    print_json(out) if json_ else console.print(
        f"journey {out['name']}: {out['steps']} steps, trigger {out['trigger']}")


@journeys_app.command("list")
def journeys_list(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Every journey and its customers per status."""
    # lazy: the journeys load the campaigns, pandas and SQLAlchemy
    from insightloop.services.journeys import list_journeys

    out = list_journeys(context_for(warehouse))
    if json_:
        print_json({"journeys": out})
        return
    for j in out:
        console.print(f"{j['name']} ({j['trigger']}, {j['steps']} steps): {j['states']}")


@journeys_app.command("show")
def journeys_show(name: str, warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Customers per step and status of one journey."""
    # lazy: the journeys load the campaigns, pandas and SQLAlchemy
    from insightloop.services.journeys import journey_states

    frame = journey_states(context_for(warehouse), name)
    if json_:
        print_json({"name": name, "states": frame.to_dict("records")})
        return
    for row in frame.itertuples(index=False):
        console.print(f"{row.step:<20} {row.status:<10} {row.customers:,}")


@journeys_app.command("tick")
def journeys_tick(now: NowOpt = None, journey: Annotated[list[str] | None, typer.Option(
        "--journey", help="Only this journey (repeatable).")] = None,
                  warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Advance every due customer of every enabled journey (run it from cron)."""
    # lazy: the journeys load the campaigns, pandas and SQLAlchemy
    from insightloop.services.journeys import tick

    out = tick(context_for(warehouse), _now(now), names=journey or None)
    print_json(out) if json_ else console.print(
        f"entered {out['entered']}, advanced {out['advanced']}, exited {out['exited']}, "
        f"completed {out['completed']}; sends {out['actions']}, skipped {out['skipped']}")


@sendtime_app.command("build")
def sendtime_build(warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Write table send_times: each customer's best local hour and weekday."""
    # lazy: the engagement services load pandas, duckdb and scipy
    from insightloop.services.engagement import build_send_times

    out = build_send_times(context_for(warehouse))
    print_json(out) if json_ else console.print(
        f"table send_times: {out['customers']:,} customers ({out['from_customer']:,} from "
        f"their own history), population hour {out['population_hour']}:00")


@app.command("preview")
def preview_cmd(template: Annotated[Path, typer.Option("--template", help="Jinja2 text body.")],
                customer: Annotated[str, typer.Option("--customer")],
                subject: Annotated[str | None, typer.Option(
                    "--subject", help="Subject template (text).")] = None,
                html: Annotated[Path | None, typer.Option("--html")] = None,
                warehouse: WarehouseOpt = None, json_: JsonOpt = False) -> None:
    """Render a template for one customer; a template error or missing field fails here."""
    # lazy: the engagement services load pandas and duckdb
    from insightloop.services.engagement import preview

    body = _text(template, "--template")
    assert body is not None
    out = preview(context_for(warehouse), body, customer, html_template=_text(html, "--html"),
                  subject_template=subject)
    if json_:
        print_json(out)
        return
    if out["subject"] is not None:
        console.print(f"Subject: {out['subject']}", markup=False)
    console.print(out["text"] or "", markup=False)


@evaluate_app.command("sendtime")
def evaluate_sendtime(
    data: Annotated[Path, typer.Option("--data", help="Events or orders: one row each.")],
    customer: Annotated[str, typer.Option("--customer", help="Customer id column.")],
    time: Annotated[str, typer.Option("--time", help="Timestamp column (local time).")],
    test_days: Annotated[int, typer.Option("--test-days", help="Days held out at the end.")
                         ] = 90,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random baseline.")] = 42,
    warehouse: UnusedWarehouseOpt = None, json_: JsonOpt = False,
) -> None:
    """Backtest send-time prediction: hit rate and hour error vs population and random."""
    del warehouse
    # lazy: the evaluation loads pandas, duckdb and scipy
    from insightloop.services.engagement.sendtime_eval import evaluate_sendtime_file

    out = evaluate_sendtime_file(data, customer, time, test_days, seed)
    if json_:
        print_json(out)
        return
    console.print(f"{out['customers']:,} customers, held out after {out['split_time']}")
    for name in out["hit_rate"]:
        console.print(f"{name:<11} hit {out['hit_rate'][name]:.3f}  within 1 h "
                      f"{out['within_1h'][name]:.3f}  mean |error| "
                      f"{out['mean_abs_hour_error'][name]:.2f} h")
