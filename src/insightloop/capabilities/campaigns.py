"""Campaigns: audience + channel + content + schedule + a seeded holdout; e-mail (SMTP), signed
webhooks and an outbox; a send ledger that makes a second send impossible; exposures written
to ``sends``."""

from __future__ import annotations

from insightloop.capabilities.spec import Capability

CAPABILITY = Capability(
    name="campaigns",
    summary="Campaigns with holdouts over e-mail, webhooks and an outbox, with a send ledger.",
)
