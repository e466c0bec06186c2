"""Operational-store tables: suppression lists, journeys and their per-customer state
(engagement and journeys).

Declared on :class:`insightloop.storage.operational.base.Base`; created by migration
0005 (``migrations/versions``). Times are naive UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from insightloop.storage.operational.base import Base


class Suppression(Base):
    """Nobody on this list is contacted: a customer id or an address (``kind``), on one
    channel or on every channel (``channel == "*"``)."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("kind", "value", "channel", name="uq_suppressions"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # "customer" or "address"
    value: Mapped[str] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(32), default="*")
    reason: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime]


class JourneyDef(Base):
    """A journey's validated definition (JSON), by name."""

    __tablename__ = "journeys"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class JourneyState(Base):
    """Where one customer is in one journey: the step due next and when."""

    __tablename__ = "journey_state"
    __table_args__ = (Index("ix_journey_state_due", "status", "due_at"),)
    journey: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    step: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # active, done, exited
    entered_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class JourneyLog(Base):
    """A step done for one customer: the unique key makes a step happen at most once."""

    __tablename__ = "journey_log"
    __table_args__ = (UniqueConstraint("journey", "customer_id", "step",
                                       name="uq_journey_log_step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    journey: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str] = mapped_column(String(100))
    step: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
