"""``campaigns bounces import``: bounce reports (:mod:`.dsn`) matched to sends and acted on.

Each reported recipient is stored once in ``campaign_bounces`` (key: the report's SHA-256
and the recipient), so importing the same folder again changes nothing. A bounce is matched
to its send by the quoted Message-ID (deterministic per campaign and customer), else by the
address (``customers.email``; the customer's latest e-mail send). A new *hard* bounce marks
the send ``bounced`` in the ledger and puts the address on the e-mail suppression list with
the status; *soft* bounces are counted per address, and an address with ``soft_limit`` or
more is suppressed too.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import insert, select

import insightloop.services.campaigns.ledger as ledger
from insightloop.errors import ConfigError
from insightloop.services.campaigns.dsn import parse_report, read_messages
from insightloop.services.context import Context
from insightloop.services.engagement.suppression import add_suppressions
from insightloop.services.results.campaigns import BounceImport
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.campaign_models import BounceRecord
from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.models import SendLedger
from insightloop.storage.warehouse import has_table

SOFT_LIMIT = 3
COLUMNS = ["key", "recipient", "status", "kind", "diagnostic", "message_id", "source"]


def _reports(path: Path) -> tuple[pd.DataFrame, int, int]:
    """One row per reported recipient; the messages read and how many were no bounce."""
    rows, messages, plain = [], 0, 0
    for name, raw in read_messages(path):  # one parse per message file
        messages += 1
        found = parse_report(raw)
        plain += not found
        digest = hashlib.sha256(raw).hexdigest()
        rows += [{"key": hashlib.sha256(f"{digest}:{b.recipient}".encode()).hexdigest(),
                  "recipient": b.recipient, "status": b.status, "kind": b.kind,
                  "diagnostic": b.diagnostic, "message_id": b.message_id,
                  "source": name[-300:]} for b in found]
    frame = pd.DataFrame(rows, columns=COLUMNS).drop_duplicates("key")
    return frame, messages, plain


def _match(ctx: Context, store: OpsStore, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``campaign_id`` and ``customer_id`` (None when unknown)."""
    ids = [m for m in frame["message_id"].dropna().unique()]
    with store.read() as conn:
        by_id = pd.DataFrame(conn.execute(select(
            SendLedger.message_id, SendLedger.campaign_id, SendLedger.customer_id).where(
            SendLedger.message_id.in_(ids))).all(),
            columns=["message_id", "campaign_id", "customer_id"])
    out = frame.merge(by_id.drop_duplicates("message_id"), on="message_id", how="left")
    lost = out["customer_id"].isna()
    if lost.any():
        with ctx.read() as con:
            people = con.execute(
                "SELECT lower(trim(email)) AS recipient, min(customer_id) AS customer_id "
                "FROM customers WHERE email IS NOT NULL GROUP BY 1").df() \
                if has_table(con, "customers") else pd.DataFrame(
                    columns=["recipient", "customer_id"])
        who = out.loc[lost, ["recipient"]].merge(people, on="recipient", how="left")
        out.loc[lost, "customer_id"] = who["customer_id"].to_numpy()
        latest = _latest_sends(store, who["customer_id"].dropna().unique().tolist())
        out.loc[lost, "campaign_id"] = out.loc[lost, "customer_id"].map(latest).to_numpy()
    return out.astype(object).where(out.notna(), None)


def _latest_sends(store: OpsStore, customers: list[str]) -> pd.Series:
    """The campaign of each customer's latest e-mail delivery."""
    with store.read() as conn:
        rows = pd.DataFrame(conn.execute(select(
            SendLedger.customer_id, SendLedger.campaign_id, SendLedger.id).where(
            SendLedger.customer_id.in_(customers), SendLedger.channel == "email",
            SendLedger.status.in_(["delivered", "bounced"]))).all(),
            columns=["customer_id", "campaign_id", "id"])
    return rows.sort_values("id").groupby("customer_id")["campaign_id"].last()


def import_bounces(ctx: Context, path: Path | str, soft_limit: int = SOFT_LIMIT
                   ) -> BounceImport:
    """Read the bounce reports under ``path`` and act on the new ones (module notes)."""
    if soft_limit < 1:
        raise ConfigError(f"--soft-limit {soft_limit} must be at least 1")
    store = open_ops(ctx.settings)
    frame, messages, plain = _reports(Path(path))
    with store.read() as conn:
        known = {r[0] for r in conn.execute(select(BounceRecord.key).where(
            BounceRecord.key.in_(frame["key"].tolist()))).all()}
    new = _match(ctx, store, frame[~frame["key"].isin(known)].reset_index(drop=True))
    now = datetime.now(UTC).replace(tzinfo=None)
    if not new.empty:
        with store.write(lock="bounces") as conn:
            conn.execute(insert(BounceRecord), new.assign(received_at=now).to_dict("records"))
    hard = new[new["kind"] == "hard"]
    marked = 0
    for (cid, status), rows in hard.dropna(subset=["campaign_id"]).groupby(
            ["campaign_id", "status"]):  # one update per campaign and status
        marked += ledger.mark(store, str(cid), rows["customer_id"].astype(str).tolist(),
                              "bounced", f"hard bounce {status}")
    added = 0
    for status, rows in hard.groupby("status"):
        added += add_suppressions(ctx, rows["recipient"].tolist(), "email",
                                  f"hard bounce {status}", kind="address")["added"]
    added += _soft_suppress(ctx, store, new.loc[new["kind"] == "soft", "recipient"],
                            soft_limit)
    return {"messages": messages, "not_bounces": plain, "bounces": len(frame),
            "new": len(new), "hard": len(hard), "soft": int((new["kind"] == "soft").sum()),
            "matched": int(new["customer_id"].notna().sum()) if not new.empty else 0,
            "marked_bounced": marked, "suppressed": added}


def _soft_suppress(ctx: Context, store: OpsStore, recipients: pd.Series, limit: int) -> int:
    """Suppress the addresses among ``recipients`` with ``limit`` or more soft bounces."""
    if recipients.empty:
        return 0
    with store.read() as conn:
        seen = pd.DataFrame(conn.execute(select(BounceRecord.recipient).where(
            BounceRecord.kind == "soft", BounceRecord.recipient.in_(
                recipients.unique().tolist()))).all(), columns=["recipient"])
    counts = seen["recipient"].value_counts()
    over = counts[counts >= limit]
    if over.empty:
        return 0
    return add_suppressions(ctx, over.index.tolist(), "email",
                            f"{limit} or more soft bounces", kind="address")["added"]
