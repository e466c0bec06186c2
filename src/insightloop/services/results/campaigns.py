"""Results of the campaigns services."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict


class LedgerTotals(TypedDict):
    """A campaign's send ledger in numbers (every customer of the audience once)."""

    audience: int
    holdout: int
    suppressed: dict[str, int]
    failed: int
    delivered: int
    bounced: int
    pending: int


class CampaignRun(LedgerTotals):
    """A run of ``campaigns send``: the campaign's totals so far and what this run sent."""

    campaign_id: str
    sent: int
    exposures: int
    dry_run: bool
    to_send: NotRequired[int]


class CampaignInfo(LedgerTotals):
    """A campaign's definition and ledger totals."""

    campaign_id: str
    name: str
    channel: str
    audience_definition: str
    holdout_share: float
    seed: int
    variants: list[str]
    status: str
    runs: int
    created_at: str
    updated_at: str


class LedgerRow(TypedDict):
    customer_id: str
    status: str
    reason: str | None
    retry: bool
    message_id: str | None
    variant: str | None
    attempts: int
    created_at: str
    confirmed_at: str | None
