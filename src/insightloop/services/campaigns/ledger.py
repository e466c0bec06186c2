"""The send ledger (operational store ``send_ledger``): every decision per (campaign, step,
customer) under one idempotency key.

Statuses: ``held_out``, ``suppressed`` (reason), ``held`` (waiting for ``due_at``, the
customer's best hour), ``claimed`` (about to leave), ``delivered``, ``failed`` (reason),
``bounced``. A row is *final* unless it is ``claimed``, carries ``retry`` (a transient
failure, or a suppression that may lift: frequency cap, quiet hours) or is ``held`` and
due; a run acts only on customers without a final row. Writes are batched: one
transaction writes a batch of decisions or claims (executemany); a confirmation is one
small ``UPDATE`` committed as soon as the message has left, so a crash repeats at most the
message in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, func, insert, select, update

from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.models import SendLedger

STATUSES = ("held_out", "suppressed", "held", "claimed", "delivered", "failed", "bounced")
LEDGER_COLUMNS = ["customer_id", "status", "reason", "retry", "message_id", "variant",
                  "attempts", "created_at", "confirmed_at", "due_at"]


def utc_now() -> datetime:
    """Naive UTC (what engagement's frequency caps compare the ledger's times with)."""
    return datetime.now(UTC).replace(tzinfo=None)


def key_of(campaign_id: str, step: str, customer_id: str) -> str:
    return f"{campaign_id}:{step}:{customer_id}"


def rows_of(store: OpsStore, campaign_id: str, step: str,
            status: str | None = None) -> pd.DataFrame:
    """The ledger of one campaign step (optionally one status), oldest first."""
    cols = [getattr(SendLedger, c) for c in LEDGER_COLUMNS]
    query = select(*cols).where(SendLedger.campaign_id == campaign_id,
                                SendLedger.step == step)
    if status is not None:
        query = query.where(SendLedger.status == status)
    with store.read() as conn:
        rows = conn.execute(query.order_by(SendLedger.id)).all()
    return pd.DataFrame(rows, columns=LEDGER_COLUMNS)


def open_rows(ledger: pd.DataFrame, now: datetime | None = None) -> pd.Series:
    """Mask of rows a run still acts on: claimed, marked for retry, or held and due by
    ``now`` (naive UTC; default the clock)."""
    due = pd.to_datetime(ledger["due_at"]) <= pd.Timestamp(now or utc_now())
    return (ledger["status"].eq("claimed") | ledger["retry"].fillna(False).astype(bool)
            | (ledger["status"].eq("held") & due))


def write(store: OpsStore, campaign_id: str, step: str, channel: str,
          decisions: pd.DataFrame, existing: set[str]) -> int:
    """Write decisions (customer_id, status, reason, retry, message_id, variant, attempts;
    optionally due_at) in one transaction: rows of customers in ``existing`` are updated
    (a missing due_at keeps the row's), the others inserted. Returns the number written."""
    if decisions.empty:
        return 0
    now = utc_now()
    if "due_at" not in decisions:
        decisions = decisions.assign(due_at=None)
    frame = decisions.assign(
        idempotency_key=campaign_id + ":" + step + ":" + decisions["customer_id"].astype(str),
        campaign_id=campaign_id, step=step, channel=channel, created_at=now,
        confirmed_at=None)
    frame = frame.astype(object).where(frame.notna(), None)
    old = frame["customer_id"].isin(existing)
    new_rows: list[dict[str, Any]] = frame.loc[~old].to_dict("records")
    changed = frame.loc[old, ["idempotency_key", "status", "reason", "retry", "message_id",
                              "variant", "attempts", "created_at", "due_at"]]
    changed = changed.rename(columns={"idempotency_key": "k"})
    with store.write() as conn:
        if new_rows:
            conn.execute(insert(SendLedger), new_rows)
        if not changed.empty:
            conn.execute(update(SendLedger).where(
                SendLedger.idempotency_key == bindparam("k")).values(
                status=bindparam("status"), reason=bindparam("reason"),
                retry=bindparam("retry"), message_id=bindparam("message_id"),
                variant=bindparam("variant"),
                attempts=SendLedger.attempts + bindparam("attempts"),
                created_at=bindparam("created_at"),
                due_at=func.coalesce(bindparam("due_at"), SendLedger.due_at)),
                changed.to_dict("records"))
    return len(frame)


def confirm(store: OpsStore, key: str, status: str, reason: str | None, retry: bool,
            attempts: int) -> None:
    """Record the outcome of one claimed message (committed at once)."""
    with store.write() as conn:
        conn.execute(update(SendLedger).where(SendLedger.idempotency_key == key).values(
            status=status, reason=reason, retry=retry,
            attempts=SendLedger.attempts + max(0, attempts - 1), confirmed_at=utc_now()))


def mark(store: OpsStore, campaign_id: str, customer_ids: Sequence[str], status: str,
         reason: str | None, step: str = "send") -> int:
    """Set a final status on delivered messages (a bounce reported later); returns how many
    rows changed."""
    with store.write() as conn:
        result = conn.execute(update(SendLedger).where(
            SendLedger.campaign_id == campaign_id, SendLedger.step == step,
            SendLedger.customer_id.in_(list(customer_ids)),
            SendLedger.status == "delivered").values(status=status, reason=reason,
                                                     retry=False, confirmed_at=utc_now()))
    return int(result.rowcount or 0)


def totals(store: OpsStore, campaign_id: str | None = None) -> pd.DataFrame:
    """Rows per campaign, status and reason (every campaign when ``campaign_id`` is None)."""
    query = select(SendLedger.campaign_id, SendLedger.status, SendLedger.reason,
                   func.count().label("n")).where(SendLedger.step == "send")
    if campaign_id is not None:
        query = query.where(SendLedger.campaign_id == campaign_id)
    query = query.group_by(SendLedger.campaign_id, SendLedger.status, SendLedger.reason)
    with store.read() as conn:
        rows = conn.execute(query.order_by(SendLedger.campaign_id, SendLedger.status)).all()
    return pd.DataFrame(rows, columns=["campaign_id", "status", "reason", "n"])


def summary(counts: pd.DataFrame) -> dict[str, Any]:
    """``{"audience", "holdout", "suppressed": {reason: n}, "failed", "delivered",
    "bounced", "pending", "held"}`` from one campaign's :func:`totals`."""
    by_status = counts.groupby("status")["n"].sum()
    sup = counts[counts["status"] == "suppressed"]
    reasons = sup.groupby(sup["reason"].fillna("unknown"))["n"].sum()
    return {"audience": int(counts["n"].sum()),
            "holdout": int(by_status.get("held_out", 0)),
            "suppressed": {str(k): int(v) for k, v in reasons.items()},
            "failed": int(by_status.get("failed", 0)),
            "delivered": int(by_status.get("delivered", 0)),
            "bounced": int(by_status.get("bounced", 0)),
            "pending": int(by_status.get("claimed", 0)),
            "held": int(by_status.get("held", 0))}
