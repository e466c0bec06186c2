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
    held: NotRequired[int]  # sends waiting for the customer's best hour


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
    due_at: NotRequired[str | None]  # a held send's release time (UTC)


class ScheduleInfo(TypedDict):
    """A campaign schedule: ``cron`` is ``at <time>``, ``<n>m|h|d`` or
    ``daily HH:MM <zone>``; times are UTC."""

    name: str
    campaign: str
    cron: str
    enabled: bool
    next_run_at: str | None
    last_run_at: str | None
    runs: int


class TickResult(TypedDict):
    """One pass of ``campaigns tick``: the schedules run (one campaign each, with its
    totals), the held sends released, and what was skipped and why."""

    now: str
    scheduled: list[CampaignRun]
    released: list[CampaignRun]
    skipped: list[str]


class BounceImport(TypedDict):
    """``campaigns bounces import``: what was read, what was new, what it changed."""

    messages: int
    not_bounces: int
    bounces: int        # recipients reported in the bounce reports read
    new: int            # not imported before (a re-import adds nothing)
    hard: int
    soft: int
    matched: int        # new bounces matched to a customer (a send's Message-ID, else address)
    marked_bounced: int  # ledger rows changed from delivered to bounced
    suppressed: int     # addresses added to the suppression list
