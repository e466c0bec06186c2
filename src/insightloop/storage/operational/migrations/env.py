"""Alembic's environment: migrate over the connection that :mod:`..schema` passes in.

Alembic executes this file; imported any other way (doctest collection) it does nothing.
"""

from __future__ import annotations

from alembic import context

from insightloop.storage.operational.models import Base


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run operational-store migrations through "
                           "insightloop.storage.operational.schema.upgrade")
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if getattr(context, "_proxy", None) is not None:  # executed by Alembic
    run()
