"""Campaign schedules, the scheduler's ``tick`` and bounce import: ``campaigns schedule``,
``campaigns schedules [list|pause|resume|delete]``, ``campaigns tick`` and
``campaigns bounces import`` (registered on the ``campaigns`` command group)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from insightloop.cli.campaigns import campaigns_app
from insightloop.cli.common import JsonOpt, WarehouseOpt, console, context_for, print_json
from insightloop.errors import ConfigError

schedules_app = typer.Typer(help="Campaign schedules: list, pause, resume, delete.",
                            no_args_is_help=False, invoke_without_command=True)
campaigns_app.add_typer(schedules_app, name="schedules")
bounces_app = typer.Typer(help="Bounce reports (delivery status notifications).",
                          no_args_is_help=True)
campaigns_app.add_typer(bounces_app, name="bounces")

ScheduleName = Annotated[str, typer.Argument(help="The schedule's name (see `campaigns "
                                                  "schedules`).")]


def _show(rows: list[Any]) -> None:
    if not rows:
        console.print("no schedules: `insightloop campaigns schedule CAMPAIGN --every 1d`")
    for r in rows:
        state = "on " if r["enabled"] else "off"
        console.print(f"{r['name']:<40} {state} next {r['next_run_at'] or '-':<20} "
                      f"last {r['last_run_at'] or '-':<20} runs {r['runs']}")


@campaigns_app.command("schedule")
def schedule(campaign: Annotated[str, typer.Argument(help="A stored campaign (id or name).")],
             at: Annotated[str | None, typer.Option(
                 "--at", help="Run once at this ISO time (an offset, else UTC).")] = None,
             every: Annotated[str | None, typer.Option(
                 "--every", help="Run every interval (15m, 6h, 1d) or daily "
                                 "('daily 09:00 Europe/London').")] = None,
             name: Annotated[str | None, typer.Option(
                 "--schedule-name", help="The schedule's name (default: campaign + "
                                         "cadence).")] = None,
             json_out: JsonOpt = False, warehouse: WarehouseOpt = None) -> None:
    """Schedule a campaign already sent or stored (`campaigns send ... --at/--every`)."""
    # lazy: the campaigns service loads SQLAlchemy and pandas
    from insightloop.services.campaigns import schedule_campaign

    info: Any = schedule_campaign(context_for(warehouse), campaign, at=at, every=every,
                                  name=name)
    if json_out:
        print_json(info)
        return
    _show([info])


@schedules_app.callback()
def schedules(ctx: typer.Context, json_out: JsonOpt = False,
              warehouse: WarehouseOpt = None) -> None:
    """Every campaign schedule (without a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    # lazy: the campaigns service loads SQLAlchemy
    from insightloop.services.campaigns import list_schedules

    rows: Any = list_schedules(context_for(warehouse))
    if json_out:
        print_json({"schedules": rows})
        return
    _show(rows)


def _change(action: str, name: str, json_out: bool, warehouse: Path | None) -> None:
    # lazy: the campaigns service loads SQLAlchemy
    from insightloop.services.campaigns import delete_schedule, pause_schedule

    ctx = context_for(warehouse)
    info: Any = (delete_schedule(ctx, name) if action == "delete"
                 else pause_schedule(ctx, name, paused=action == "pause"))
    if json_out:
        print_json({**info, "action": action})
        return
    console.print(f"{action}d schedule {name!r}" if action != "resume"
                  else f"resumed schedule {name!r}, next run {info['next_run_at']} UTC")


@schedules_app.command("pause")
def pause(name: ScheduleName, json_out: JsonOpt = False,
          warehouse: WarehouseOpt = None) -> None:
    """Stop a schedule from running (until resumed)."""
    _change("pause", name, json_out, warehouse)


@schedules_app.command("resume")
def resume(name: ScheduleName, json_out: JsonOpt = False,
           warehouse: WarehouseOpt = None) -> None:
    """Resume a paused schedule; it is next due after now."""
    _change("resume", name, json_out, warehouse)


@schedules_app.command("delete")
def delete(name: ScheduleName, json_out: JsonOpt = False,
           warehouse: WarehouseOpt = None) -> None:
    """Delete a schedule (the campaigns it ran stay)."""
    _change("delete", name, json_out, warehouse)


@campaigns_app.command("tick")
def tick(now: Annotated[str | None, typer.Option(
             "--now", help="Pretend it is this ISO time (tests, catching up); default now.")
         ] = None, json_out: JsonOpt = False, warehouse: WarehouseOpt = None) -> None:
    """One scheduler pass: run due schedules once per due time, release due held sends.
    Run it from cron or a systemd timer every minute or so."""
    # lazy: the campaigns service loads SQLAlchemy, httpx and pandas
    from insightloop.services.campaigns import tick as run_tick

    when = None
    if now is not None:
        try:
            when = datetime.fromisoformat(now)
        except ValueError:
            raise ConfigError(f"--now {now!r} is not an ISO time, e.g. 2026-12-01T09:00"
                              ) from None
    out: Any = run_tick(context_for(warehouse), now=when)
    if json_out:
        print_json(out)
        return
    for r in out["scheduled"]:
        console.print(f"ran {r['campaign_id']}: sent {r['sent']:,}, held {r.get('held', 0):,}")
    for r in out["released"]:
        console.print(f"released held sends of {r['campaign_id']}: sent {r['sent']:,}")
    for line in out["skipped"]:
        console.print(f"[yellow]skipped[/] {line}")
    if not (out["scheduled"] or out["released"] or out["skipped"]):
        console.print(f"nothing due at {out['now']} UTC")


@bounces_app.command("import")
def import_(path: Annotated[Path, typer.Argument(
                help="An .eml file, an mbox file, a maildir or a folder of them.")],
            soft_limit: Annotated[int, typer.Option(
                "--soft-limit", min=1, max=100,
                help="Soft bounces after which an address is suppressed.")] = 3,
            json_out: JsonOpt = False, warehouse: WarehouseOpt = None) -> None:
    """Read bounce reports: hard bounces are suppressed and marked in the ledger, soft ones
    counted; importing the same reports again changes nothing."""
    # lazy: the campaigns service loads SQLAlchemy and pandas
    from insightloop.services.campaigns import import_bounces

    out: Any = import_bounces(context_for(warehouse), path, soft_limit)
    if json_out:
        print_json(out)
        return
    console.print(f"{out['messages']:,} message(s), {out['bounces']:,} bounce(s), "
                  f"{out['new']:,} new: {out['hard']:,} hard, {out['soft']:,} soft; "
                  f"{out['matched']:,} matched to customers, {out['marked_bounced']:,} "
                  f"sends marked bounced, {out['suppressed']:,} address(es) suppressed")
    if out["not_bounces"]:
        console.print(f"{out['not_bounces']:,} message(s) were not bounce reports")
