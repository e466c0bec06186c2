"""The declarative base of the operational store's tables.

Every module of tables (:mod:`.models` and the capabilities' ``*_models`` modules)
declares its classes on this :class:`Base`; :mod:`.models` imports them all, so
``models.Base.metadata`` is the whole schema (what the migrations build).
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """The operational store's metadata."""
