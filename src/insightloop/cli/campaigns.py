"""Campaigns: ``campaigns send`` (audience, channel, content, holdout, seed; send time,
bandit allocation; ``--at``/``--every`` to schedule instead) and the ledger (``list``,
``show``, ``ledger``, ``bounce``, ``outbox``). Schedules, ``tick`` and bounce import:
:mod:`insightloop.cli.campaign_schedules`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from insightloop.cli.app import app
from insightloop.cli.common import (
    JsonOpt,
    WarehouseOpt,
    console,
    context_for,
    print_json,
    progress_bar,
)
from insightloop.errors import ConfigError, InputFileError

campaigns_app = typer.Typer(help="Campaigns with a seeded holdout over e-mail, webhooks or "
                                 "an outbox, and their send ledger.", no_args_is_help=True)
app.add_typer(campaigns_app, name="campaigns")

PASSWORD_ENV = "INSIGHTLOOP_SMTP_PASSWORD"


def _template(path: Path | None, option: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{option} {path}: no such file; give the path of a Jinja2 "
                             "template") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{option} {path}: not UTF-8 text; save the template as "
                             "UTF-8") from None
    except OSError as exc:
        raise InputFileError(f"{option} {path}: cannot read it ({exc.strerror})") from None


def _show_totals(result: Any) -> None:
    console.print(f"[bold]{result['campaign_id']}[/]: audience {result['audience']:,}, "
                  f"holdout {result['holdout']:,}, delivered {result['delivered']:,}, "
                  f"failed {result['failed']:,}, bounced {result.get('bounced', 0):,}, "
                  f"pending {result.get('pending', 0):,}, held {result.get('held', 0):,}")
    for reason, n in sorted(result["suppressed"].items()):
        console.print(f"  suppressed ({reason}): {n:,}")


@campaigns_app.command("send")
def send(
    name: Annotated[str, typer.Option("--name", help="Campaign name (its id: lower case); "
                                                     "a re-run under the name continues it.")],
    body_template: Annotated[Path | None, typer.Option(
        "--body-template", help="Jinja2 template of the text body (profile fields).")
                             ] = None,
    audience_where: Annotated[str | None, typer.Option(
        "--audience-where", help="Audience filter over customer_360, e.g. "
                                 "\"recency_days > 90 and segment = 'at risk'\".")] = None,
    audience: Annotated[str | None, typer.Option(
        "--audience", help="A saved audience's name (instead of --audience-where).")] = None,
    channel: Annotated[str, typer.Option("--channel", help="email | webhook | outbox.")
                       ] = "email",
    subject: Annotated[str, typer.Option("--subject", help="Subject (a Jinja2 template).")
                       ] = "",
    html_template: Annotated[Path | None, typer.Option(
        "--html-template", help="Jinja2 template of the HTML part.")] = None,
    variant_subject: Annotated[list[str] | None, typer.Option(
        "--variant-subject", help="A/B/n: one variant per subject (repeatable; named a, b, "
                                  "...), same body; without it one variant, 'treatment'.")
                               ] = None,
    copy_brief: Annotated[str | None, typer.Option(
        "--copy-brief", help="Variants: the assistant's approved copy of this brief "
                             "(instead of --body-template/--variant-subject).")] = None,
    holdout: Annotated[float, typer.Option("--holdout", help="Share held out at random "
                                                             "(the control arm).")] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the holdout and variants.")
                    ] = 42,
    smtp_host: Annotated[str | None, typer.Option(
        "--smtp-host", envvar="INSIGHTLOOP_SMTP_HOST", help="SMTP server.")] = None,
    smtp_port: Annotated[int, typer.Option("--smtp-port", envvar="INSIGHTLOOP_SMTP_PORT",
                                           help="SMTP port.")] = 25,
    sender: Annotated[str, typer.Option("--from", envvar="INSIGHTLOOP_SMTP_FROM",
                                        help="From address (its domain names Message-IDs).")
                      ] = "insightloop@localhost",
    starttls: Annotated[bool, typer.Option("--starttls", envvar="INSIGHTLOOP_SMTP_STARTTLS",
                                           help="Upgrade the connection with STARTTLS.")
                        ] = False,
    smtp_tls: Annotated[bool, typer.Option("--smtp-tls", envvar="INSIGHTLOOP_SMTP_TLS",
                                           help="Implicit TLS (port 465).")] = False,
    smtp_user: Annotated[str | None, typer.Option(
        "--smtp-user", envvar="INSIGHTLOOP_SMTP_USER",
        help=f"Login (the password comes from ${PASSWORD_ENV}).")] = None,
    webhook_url: Annotated[str | None, typer.Option(
        "--webhook-url", envvar="INSIGHTLOOP_WEBHOOK_URL", help="Webhook endpoint.")] = None,
    webhook_secret: Annotated[str | None, typer.Option(
        "--webhook-secret", envvar="INSIGHTLOOP_WEBHOOK_SECRET",
        help="HMAC-SHA256 signing secret of the webhook.")] = None,
    rate: Annotated[float | None, typer.Option("--rate", min=0.0,
                                               help="At most this many messages a second.")
                    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000,
                                            help="Messages claimed per ledger transaction.")
                          ] = 100,
    retries: Annotated[int, typer.Option("--retries", min=1, max=20,
                                         help="Attempts per message on transient errors.")
                       ] = 4,
    retry_delay: Annotated[float, typer.Option("--retry-delay", min=0.0,
                                               help="First backoff delay (s), doubling.")
                           ] = 0.5,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1,
                                           help="Network timeout per attempt (s).")] = 10.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the counts; send nothing.")
                       ] = False,
    send_time: Annotated[str, typer.Option(
        "--send-time", help="now | best: hold each message until the customer's best hour "
                            "(`campaigns tick` releases it).")] = "now",
    sto_holdout: Annotated[float, typer.Option(
        "--sto-holdout", help="With --send-time best: share sent at once (arm "
                              "'<variant>:default_time') to measure the lift.")] = 0.0,
    window: Annotated[int, typer.Option("--window", help="Longest wait for the best hour (h).")
                      ] = 24,
    allocation: Annotated[str, typer.Option(
        "--allocation", help="weights | bandit (Thompson sampling over the variants, "
                             "rewarded by orders and clicks after each send).")] = "weights",
    at: Annotated[str | None, typer.Option(
        "--at", help="Do not send now: store the campaign and run it at this ISO time.")
                  ] = None,
    every: Annotated[str | None, typer.Option(
        "--every", help="Do not send now: run it every interval (6h, 1d) or daily "
                        "('daily 09:00 Europe/London'); each due time is its own run.")
                     ] = None,
    json_out: JsonOpt = False,
    warehouse: WarehouseOpt = None,
) -> None:
    """Send a campaign: every decision goes to the send ledger, exposures to sends."""
    # lazy: the campaigns service loads SQLAlchemy, httpx and pandas; --help stays fast
    from insightloop.services.campaigns import (
        CampaignSpec,
        RetryPolicy,
        SmtpConfig,
        Variant,
        WebhookConfig,
        approved_copy,
        define_campaign,
        schedule_campaign,
        send_campaign,
    )

    if (body_template is None) == (copy_brief is None):
        raise ConfigError("give the content as --body-template FILE or as --copy-brief ID "
                          "(the assistant's approved copy), one of the two")
    text = _template(body_template, "--body-template") or ""
    html = _template(html_template, "--html-template")
    subjects = variant_subject or []
    variants = tuple(Variant(chr(ord("a") + i), s, text, html) for i, s in
                     enumerate(subjects[:26])) or (Variant("treatment", subject, text, html),)
    ctx = context_for(warehouse)
    if copy_brief is not None:
        variants = approved_copy(ctx, copy_brief, html)
    spec = CampaignSpec(name, channel, variants, audience_where=audience_where,
                        audience_name=audience, holdout=holdout, seed=seed,
                        send_time=send_time, sto_holdout=sto_holdout, window_hours=window,
                        allocation=allocation)
    smtp = SmtpConfig(smtp_host, smtp_port, sender, starttls, smtp_tls, smtp_user,
                      os.environ.get(PASSWORD_ENV), timeout) if smtp_host else None
    hook = WebhookConfig(webhook_url, webhook_secret or "", timeout) if webhook_url else None
    if at is not None or every is not None:
        define_campaign(ctx, spec, smtp=smtp, webhook=hook, rate=rate, batch_size=batch_size)
        plan: Any = schedule_campaign(ctx, spec.id, at=at, every=every)
        if json_out:
            print_json(plan)
            return
        console.print(f"scheduled {spec.id} ({plan['cron']}), next run "
                      f"{plan['next_run_at']} UTC; run `insightloop campaigns tick` from cron")
        return
    with progress_bar(f"sending {spec.id}") as update:
        result: Any = send_campaign(
            ctx, spec, smtp=smtp, webhook=hook, dry_run=dry_run,
            batch_size=batch_size, retry=RetryPolicy(retries, retry_delay), rate=rate,
            on_progress=lambda done, total: update(f"{done:,}/{total:,}", done, total))
    if json_out:
        print_json(result)
        return
    _show_totals(result)
    console.print(f"would send {result.get('to_send', 0):,} (dry run)" if dry_run
                  else f"sent by this run: {result['sent']:,}")


@campaigns_app.command("list")
def list_(json_out: JsonOpt = False, warehouse: WarehouseOpt = None) -> None:
    """Every campaign with its ledger totals."""
    # lazy: the campaigns service loads SQLAlchemy
    from insightloop.services.campaigns import list_campaigns

    rows: Any = list_campaigns(context_for(warehouse))
    if json_out:
        print_json({"campaigns": rows})
        return
    if not rows:
        console.print("no campaigns yet: `insightloop campaigns send --name ...`")
    for r in rows:
        console.print(f"{r['campaign_id']:<30} {r['channel']:<8} {r['status']:<8} "
                      f"audience {r['audience']:>7,}  delivered {r['delivered']:>7,}  "
                      f"holdout {r['holdout']:>6,}")


@campaigns_app.command("show")
def show(campaign: Annotated[str, typer.Argument(help="Campaign id or name.")],
         json_out: JsonOpt = False, warehouse: WarehouseOpt = None) -> None:
    """A campaign's definition and its ledger totals per status and reason."""
    # lazy: the campaigns service loads SQLAlchemy
    from insightloop.services.campaigns import show_campaign

    info: Any = show_campaign(context_for(warehouse), campaign)
    if json_out:
        print_json(info)
        return
    console.print(f"{info['name']} ({info['channel']}, {info['status']}, {info['runs']} "
                  f"run(s)); {info['audience_definition']}; holdout {info['holdout_share']}, "
                  f"seed {info['seed']}, variants {', '.join(info['variants'])}")
    _show_totals(info)


@campaigns_app.command("ledger")
def ledger_(campaign: Annotated[str, typer.Argument(help="Campaign id or name.")],
            status: Annotated[str | None, typer.Option(
                "--status", help="held_out | suppressed | claimed | delivered | failed | "
                                 "bounced.")] = None,
            limit: Annotated[int | None, typer.Option("--limit", min=1)] = None,
            json_out: JsonOpt = False, warehouse: WarehouseOpt = None) -> None:
    """The campaign's ledger rows: one per customer, with status, reason and Message-ID."""
    # lazy: the campaigns service loads SQLAlchemy
    from insightloop.services.campaigns import campaign_ledger

    rows: Any = campaign_ledger(context_for(warehouse), campaign, status, limit)
    if json_out:
        print_json({"campaign": campaign, "rows": rows})
        return
    for r in rows:
        console.print(f"{r['customer_id']:<14} {r['status']:<10} {r['variant'] or '':<10} "
                      f"{r['reason'] or ''}")


@campaigns_app.command("bounce")
def bounce(campaign: Annotated[str, typer.Argument(help="Campaign id or name.")],
           customers: Annotated[list[str], typer.Argument(help="Customer ids that bounced.")],
           reason: Annotated[str, typer.Option("--reason")] = "bounced",
           json_out: JsonOpt = False, warehouse: WarehouseOpt = None) -> None:
    """Record bounces reported after delivery (delivered -> bounced)."""
    # lazy: the campaigns service loads SQLAlchemy
    from insightloop.services.campaigns import record_bounces

    n = record_bounces(context_for(warehouse), campaign, customers, reason)
    if json_out:
        print_json({"campaign": campaign, "bounced": n})
        return
    console.print(f"{n:,} delivered message(s) marked bounced")


@campaigns_app.command("outbox")
def outbox(limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
           campaign: Annotated[str | None, typer.Option("--campaign")] = None,
           json_out: JsonOpt = False, warehouse: WarehouseOpt = None) -> None:
    """Pull messages from the outbox (each is handed out once)."""
    # lazy: the campaigns service loads SQLAlchemy
    from insightloop.services.campaigns import pull_outbox

    rows: Any = pull_outbox(context_for(warehouse), limit, campaign)
    if json_out:
        print_json({"messages": rows})
        return
    for r in rows:
        console.print(f"{r['customer_id']:<14} {r['message_id']} {r['subject']}")
