"""Campaigns: audience + channel + content + a seeded holdout and variants, sent through
e-mail (SMTP), signed webhooks or an outbox with a send ledger that makes every decision
visible and a second send impossible; exposures written to the warehouse's ``sends``.

Every public name is importable from the package itself.
"""

from __future__ import annotations

from insightloop.services.campaigns.channels import (
    RetryPolicy,
    SmtpConfig,
    WebhookConfig,
    pull,
)
from insightloop.services.campaigns.jobs import send_campaign_job
from insightloop.services.campaigns.queries import (
    campaign_ledger,
    list_campaigns,
    pull_outbox,
    record_bounces,
    show_campaign,
)
from insightloop.services.campaigns.send import channel_for, run_campaign, send_campaign
from insightloop.services.campaigns.spec import CONTROL, CampaignSpec, Variant, campaign_id

__all__ = ["CONTROL", "CampaignSpec", "RetryPolicy", "SmtpConfig", "Variant", "WebhookConfig",
           "campaign_id", "campaign_ledger", "channel_for", "list_campaigns", "pull", "pull_outbox",
           "record_bounces", "run_campaign", "send_campaign", "send_campaign_job", "show_campaign"]
