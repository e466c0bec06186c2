"""The outbox channel: rendered messages go to the operational store's ``campaign_outbox``
table, where an app (push, SMS) pulls them with :func:`pull` and marks them taken.

The table is in the operational store, not the warehouse, because apps pull while
campaigns write (many writers, small transactions). One row per idempotency key: a
re-run never queues a message twice.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from insightloop.services.campaigns.channels.base import Message, Outcome
from insightloop.storage.operational.campaign_models import OutboxMessage
from insightloop.storage.operational.engine import OpsStore


class OutboxChannel:
    """Queue each message in ``campaign_outbox`` (delivered once it is stored)."""

    name = "outbox"

    def __init__(self, store: OpsStore) -> None:
        self.store = store

    def deliver(self, message: Message) -> Outcome:
        with self.store.write(lock="campaign_outbox") as conn:
            found = conn.execute(select(OutboxMessage.id).where(
                OutboxMessage.idempotency_key == message.idempotency_key)).first()
            if found is None:
                conn.execute(insert(OutboxMessage).values(
                    idempotency_key=message.idempotency_key,
                    campaign_id=message.campaign_id, customer_id=message.customer_id,
                    message_id=message.message_id, payload=asdict(message),
                    created_at=datetime.now()))
        return Outcome("delivered")

    def reset(self) -> None:
        return None

    def close(self) -> None:
        return None


def pull(store: OpsStore, limit: int = 100, campaign_id: str | None = None
         ) -> list[dict[str, Any]]:
    """Take up to ``limit`` messages not pulled yet (oldest first), marking them pulled in
    the same transaction so two pullers never get the same message."""
    with store.write(lock="campaign_outbox") as conn:
        query = select(OutboxMessage.id, OutboxMessage.payload).where(
            OutboxMessage.pulled_at.is_(None))
        if campaign_id is not None:
            query = query.where(OutboxMessage.campaign_id == campaign_id)
        rows = conn.execute(query.order_by(OutboxMessage.id).limit(limit)).all()
        if rows:
            conn.execute(update(OutboxMessage).where(
                OutboxMessage.id.in_([r.id for r in rows])).values(pulled_at=datetime.now()))
    return [dict(r.payload) for r in rows]
