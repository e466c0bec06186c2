"""The API's ``campaign`` job: one flat parameter set in, a campaign run out.

Secrets never travel in job parameters: the SMTP password and the webhook signing secret
come from the server's environment (``INSIGHTLOOP_SMTP_PASSWORD``,
``INSIGHTLOOP_WEBHOOK_SECRET``).
"""

from __future__ import annotations

import os
from pathlib import Path

from insightloop.services.campaigns.bounces import SOFT_LIMIT, import_bounces
from insightloop.services.campaigns.channels import SmtpConfig, WebhookConfig
from insightloop.services.campaigns.schedules import tick
from insightloop.services.campaigns.send import send_campaign
from insightloop.services.campaigns.spec import CampaignSpec, Variant
from insightloop.services.context import Context
from insightloop.services.results.campaigns import BounceImport, CampaignRun, TickResult

SMTP_PASSWORD_ENV = "INSIGHTLOOP_SMTP_PASSWORD"
WEBHOOK_SECRET_ENV = "INSIGHTLOOP_WEBHOOK_SECRET"


def send_campaign_job(ctx: Context, name: str, body: str, audience_where: str | None = None,
                      audience: str | None = None, channel: str = "email",
                      subject: str = "", html: str | None = None, holdout: float = 0.1,
                      seed: int = 42, smtp_host: str | None = None, smtp_port: int = 25,
                      sender: str = "insightloop@localhost", starttls: bool = False,
                      smtp_user: str | None = None, webhook_url: str | None = None,
                      rate: float | None = None, dry_run: bool = False,
                      send_time: str = "now", sto_holdout: float = 0.0,
                      window_hours: int = 24) -> CampaignRun:
    """Send one campaign with a single variant ('treatment') and a random holdout; with
    ``send_time="best"`` messages wait for each customer's best hour (``campaign_tick``
    releases them)."""
    spec = CampaignSpec(name, channel, (Variant("treatment", subject, body, html),),
                        audience_where=audience_where, audience_name=audience,
                        holdout=float(holdout), seed=seed, send_time=send_time,
                        sto_holdout=float(sto_holdout), window_hours=int(window_hours))
    smtp = SmtpConfig(smtp_host, smtp_port, sender, starttls, False, smtp_user,
                      os.environ.get(SMTP_PASSWORD_ENV)) if smtp_host else None
    hook = WebhookConfig(webhook_url, os.environ.get(WEBHOOK_SECRET_ENV, "")) \
        if webhook_url else None
    return send_campaign(ctx, spec, smtp=smtp, webhook=hook, dry_run=dry_run, rate=rate)


def tick_job(ctx: Context) -> TickResult:
    """One pass of the scheduler: due schedules run, due held sends released."""
    return tick(ctx)


def bounces_job(ctx: Context, path: str, soft_limit: int = SOFT_LIMIT) -> BounceImport:
    """Import the bounce reports at ``path`` (inside the server's ingest root)."""
    return import_bounces(ctx, Path(path), soft_limit)
