"""The default action of a journey's send step: the campaigns capability's delivery.

Each (journey, step) is a campaign named ``journey-<journey>-<step>`` with no holdout, so
every message goes through the send ledger (claimed, delivered, confirmed; idempotent per
customer), counts towards the frequency caps and is an exposure in ``sends``. The channel
is the journey's: ``outbox`` needs nothing; ``email`` needs ``INSIGHTLOOP_SMTP_HOST`` (and
``INSIGHTLOOP_SMTP_PORT``), ``webhook`` the campaigns' webhook settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime

from insightloop.services.campaigns import ledger
from insightloop.services.campaigns.channels import SmtpConfig
from insightloop.services.campaigns.send import STEP, channel_for, run_campaign
from insightloop.services.campaigns.spec import CampaignSpec, Variant
from insightloop.services.context import Context
from insightloop.services.journeys.spec import JourneySpec, Step
from insightloop.storage.operational import open_ops


def step_campaign(spec: JourneySpec, step: Step) -> CampaignSpec:
    """The campaign a send step delivers through."""
    assert step.send is not None
    return CampaignSpec(name=f"journey-{spec.name}-{step.id}", channel=spec.channel,
                        variants=(Variant("main", step.send.subject, step.send.text,
                                          step.send.html),),
                        audience_name=f"journey {spec.name}", holdout=0.0,
                        purpose=spec.purpose)


def _smtp() -> SmtpConfig | None:
    host = os.environ.get("INSIGHTLOOP_SMTP_HOST")
    return SmtpConfig(host=host, port=int(os.environ.get("INSIGHTLOOP_SMTP_PORT", "25"))) \
        if host else None


def campaign_action(ctx: Context, spec: JourneySpec, step: Step, customer_ids: list[str],
                    now: datetime) -> Mapping[str, str]:
    """Deliver ``step`` to ``customer_ids``; the ledger status of each."""
    campaign = step_campaign(spec, step)
    channel, domain = channel_for(ctx, campaign, smtp=_smtp())
    run_campaign(ctx, campaign, channel, customer_ids, domain=domain, now=now)
    book = ledger.rows_of(open_ops(ctx.settings), campaign.id, STEP)
    mine = book[book["customer_id"].isin(customer_ids)]
    status = mine["status"].astype(str)
    reason = mine["reason"].fillna("").astype(str)
    outcome = status.where(reason == "", status + ": " + reason)
    return dict(zip(mine["customer_id"].astype(str), outcome, strict=True))
