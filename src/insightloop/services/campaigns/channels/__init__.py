"""Delivery channels of campaigns: e-mail (SMTP), signed webhooks and the outbox."""

from __future__ import annotations

from insightloop.services.campaigns.channels.base import (
    Channel,
    Message,
    Outcome,
    RetryPolicy,
    TokenBucket,
    TransientError,
    deliver_with_retry,
)
from insightloop.services.campaigns.channels.email import EmailChannel, SmtpConfig
from insightloop.services.campaigns.channels.outbox import OutboxChannel, pull
from insightloop.services.campaigns.channels.webhook import (
    WebhookChannel,
    WebhookConfig,
    sign,
    verify,
)

__all__ = [
    "Channel",
    "EmailChannel",
    "Message",
    "OutboxChannel",
    "Outcome",
    "RetryPolicy",
    "SmtpConfig",
    "TokenBucket",
    "TransientError",
    "WebhookChannel",
    "WebhookConfig",
    "deliver_with_retry",
    "pull",
    "sign",
    "verify",
]
