"""Operational-store tables: saved audiences and their versions (audiences capability).

Declared on :class:`insightloop.storage.operational.base.Base`; created by migration
0003 (``migrations/versions``). One row per (name, version): a new version is written
when a saved audience's filter changes; the latest version is the audience.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from insightloop.storage.operational.base import Base


class SavedAudience(Base):
    """One version of a saved audience: the filter as typed and in canonical form."""

    __tablename__ = "audiences"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    filter: Mapped[str] = mapped_column(Text)
    canonical: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200), default="")
    last_count: Mapped[int | None]
    counted_at: Mapped[datetime | None]
