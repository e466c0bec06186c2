"""Tables of the operational store (SQLAlchemy 2 typed declarative models).

Operational state changes all the time and is written by every server process: API keys,
jobs and their history, dashboard sessions, rate-limit buckets, a few shared counters, and
what campaigns need (schedules, the send ledger, consent records, the audit log). Analytic
data stays in the DuckDB warehouse.

Times a process compares with its own clock (expiry, heartbeats, buckets) are epoch
seconds (``float``); times shown to people are naive local datetimes, as the API printed
them before this store existed. The schema is created and upgraded by the Alembic
migrations in ``migrations/versions``; a test compares it with these models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

# The capabilities' own tables register on the same Base when imported here.
import insightloop.storage.operational.audience_models
import insightloop.storage.operational.campaign_models
import insightloop.storage.operational.engagement_models
import insightloop.storage.operational.privacy_models  # noqa: F401
from insightloop.storage.operational.base import Base

__all__ = ["Base"]

class ApiKey(Base):
    """An API key: only a salted SHA-256 of its secret is stored."""

    __tablename__ = "api_keys"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Job(Base):
    """A background job: queued by any server process, run by exactly one."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_created", "status", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    result: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[dict[str, str] | None] = mapped_column(JSON)
    progress: Mapped[str | None] = mapped_column(String(200))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    pid: Mapped[int | None]
    heartbeat: Mapped[float | None] = mapped_column(Float)


class DashboardSession(Base):
    """A dashboard login: the cookie's SHA-256 (never the token) and its key and expiry."""

    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    created: Mapped[float] = mapped_column(Float)
    expires: Mapped[float] = mapped_column(Float, index=True)


class RateBucket(Base):
    """A token bucket shared by every server process: tokens left as of ``updated``."""

    __tablename__ = "rate_limits"
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float, index=True)


class Counter(Base):
    """A named counter (the warehouse generation, the version of the key list, flags)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Schedule(Base):
    """A recurring job or campaign run (cron expression, next and last run)."""

    __tablename__ = "schedules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    cron: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class SendLedger(Base):
    """Every campaign decision per message; ``idempotency_key`` makes a second send impossible
    (a unique key: claim the row before the message leaves, confirm it after)."""

    __tablename__ = "send_ledger"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_send_ledger_key"),
                      Index("ix_send_ledger_customer", "customer_id", "channel", "created_at"),
                      Index("ix_send_ledger_campaign", "campaign_id", "step", "status"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(300))
    campaign_id: Mapped[str] = mapped_column(String(100))
    step: Mapped[str] = mapped_column(String(100), default="")
    customer_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # delivery state (migration 0004): the deterministic Message-ID, the arm, how many
    # times it was tried, and whether a failure is transient (a re-run tries it again)
    message_id: Mapped[str | None] = mapped_column(String(300))
    variant: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry: Mapped[bool] = mapped_column(default=False)
    # migration 0007 (campaigns): a send held until this time (the customer's best hour)
    due_at: Mapped[datetime | None]


class ConsentRecord(Base):
    """A consent change per customer, channel and purpose (the newest record wins)."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_lookup", "customer_id", "channel", "purpose",
                            "recorded_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(64), default="marketing")
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(String(100), default="")
    recorded_at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what when (key changes, jobs started, sends): append only."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class Bandit(Base):
    """A Thompson-sampling bandit: its arms, the share held out at random, the seed and
    how many assignments it has drawn (the random stream's position)."""

    __tablename__ = "bandits"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    arms: Mapped[list[str]] = mapped_column(JSON)
    holdout: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    draws: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class BanditArm(Base):
    """One arm of a bandit (the holdout included): assignments and rewards so far."""

    __tablename__ = "bandit_arms"
    bandit_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    arm: Mapped[str] = mapped_column(String(100), primary_key=True)
    pulls: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[float] = mapped_column(Float, default=0.0)
    failures: Mapped[float] = mapped_column(Float, default=0.0)
