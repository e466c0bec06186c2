"""Operational-store tables: campaigns, their variants and delivery state (campaigns
capability; the send ledger itself is in models).

Declared on :class:`insightloop.storage.operational.base.Base`; created by migration
0004 (``migrations/versions``), which also adds the delivery columns of ``send_ledger``
(``message_id``, ``variant``, ``attempts``, ``retry``). Migration 0007 adds the stored
definition (``campaigns.spec``, ``campaigns.bandit``), ``send_ledger.due_at`` (held sends),
``schedule_runs`` (one claim per schedule and due time) and ``campaign_bounces``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from insightloop.storage.operational.base import Base


class CampaignDef(Base):
    """A campaign's definition: audience, channel, content, holdout, seed and variants.

    ``fingerprint`` is a hash of everything that decides who gets what: a second run under
    the same name must have the same fingerprint (it continues the campaign)."""

    __tablename__ = "campaigns"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(Text)
    holdout: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    runs: Mapped[int] = mapped_column(Integer, default=0)
    # the run in progress: "host:pid" and until when (epoch s) its lease holds
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[float | None] = mapped_column(Float)
    # migration 0007: the whole definition (content, send time, allocation, delivery
    # settings without secrets) so a schedule or a tick can run it again, and the bandit
    # whose state picks its variants (shared by a schedule's runs)
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    bandit: Mapped[str | None] = mapped_column(String(100))


class OutboxMessage(Base):
    """A rendered message waiting for an app to pull it (push, SMS): the outbox channel.

    One row per idempotency key, so a re-run never queues a message twice."""

    __tablename__ = "campaign_outbox"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_campaign_outbox_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(300))
    campaign_id: Mapped[str] = mapped_column(String(100), index=True)
    customer_id: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    pulled_at: Mapped[datetime | None]


class ScheduleRun(Base):
    """One due time of one schedule, claimed by the scheduler that runs it: the unique key
    makes a due time run once even when two schedulers tick at the same moment."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "due_at", name="uq_schedule_runs_due"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    campaign_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))  # running, done, failed
    claimed_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class BounceRecord(Base):
    """A delivery status notification for one recipient, once (``key``: the report's hash
    and the recipient), matched to a send when its Message-ID or address is known."""

    __tablename__ = "campaign_bounces"
    __table_args__ = (UniqueConstraint("key", name="uq_campaign_bounces_key"),
                      Index("ix_campaign_bounces_recipient", "recipient"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str | None] = mapped_column(String(300))
    campaign_id: Mapped[str | None] = mapped_column(String(100))
    customer_id: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))  # hard, soft
    status: Mapped[str] = mapped_column(String(16))  # e.g. 5.1.1
    diagnostic: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime]
