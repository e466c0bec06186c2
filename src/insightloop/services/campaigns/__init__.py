"""Campaigns: audience + channel + content + a seeded holdout and variants, sent through
e-mail (SMTP), signed webhooks or an outbox with a send ledger that makes every decision
visible and a second send impossible; exposures written to the warehouse's ``sends``.

Every public name is importable from the package itself.
"""

from __future__ import annotations

from insightloop.services.campaigns.bounces import import_bounces
from insightloop.services.campaigns.channels import (
    RetryPolicy,
    SmtpConfig,
    WebhookConfig,
    pull,
)
from insightloop.services.campaigns.content import approved_copy
from insightloop.services.campaigns.jobs import bounces_job, send_campaign_job, tick_job
from insightloop.services.campaigns.queries import (
    campaign_ledger,
    list_campaigns,
    pull_outbox,
    record_bounces,
    show_campaign,
)
from insightloop.services.campaigns.schedules import (
    delete_schedule,
    due_work,
    list_schedules,
    pause_schedule,
    schedule_campaign,
    show_schedule,
    tick,
)
from insightloop.services.campaigns.send import (
    channel_for,
    define_campaign,
    run_campaign,
    send_campaign,
)
from insightloop.services.campaigns.spec import CONTROL, CampaignSpec, Variant, campaign_id

__all__ = ["CONTROL", "CampaignSpec", "RetryPolicy", "SmtpConfig", "Variant", "WebhookConfig",
           "approved_copy", "bounces_job", "campaign_id", "campaign_ledger", "channel_for",
           "define_campaign",
           "delete_schedule", "due_work", "import_bounces", "list_campaigns", "list_schedules",
           "pause_schedule", "pull", "pull_outbox", "record_bounces", "run_campaign",
           "schedule_campaign", "send_campaign", "send_campaign_job", "show_campaign",
           "show_schedule", "tick", "tick_job"]
