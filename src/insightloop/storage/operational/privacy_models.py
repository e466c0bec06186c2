"""Operational-store tables: erasure requests and what they reached (privacy capability; the
audit log itself is in models).

Declared on :class:`insightloop.storage.operational.base.Base`; created by migration
0006 (``migrations/versions``).

An erasure request never keeps the erased customer's id once it is done: ``subject_hash``
is ``sha256(salt + id)`` (a second request for the same id finds it), and ``subject`` (the
id, e-mail addresses and names searched for) is held only while the request runs, so a
crash half-way can resume, and is cleared when it is done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from insightloop.storage.operational.base import Base


class ErasureRequest(Base):
    """One ``privacy erase`` request: the steps done so far and, when done, what it did."""

    __tablename__ = "erasure_requests"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    salt: Mapped[str] = mapped_column(String(32))
    subject_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    steps: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
