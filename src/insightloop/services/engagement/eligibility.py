"""Who may be contacted: the one place that decides it.

:func:`eligibility` answers, for a list of customers, one channel and one purpose, whether
each may receive a message now, and if not the first reason in this precedence:

1. ``unknown_customer``: not in the ``customers`` table;
2. ``no_consent`` / ``consent_withdrawn``: the newest ``consents`` record for the customer,
   channel and purpose at or before ``now`` is not a grant (a withdrawal and a grant at the
   same time count as a withdrawal); with no record the channel is opt-in (no consent)
   unless it is listed in ``INSIGHTLOOP_OPT_OUT_CHANNELS``;
3. ``suppressed``: the customer id or the address is on the suppression list for this
   channel or for all channels;
4. ``no_address``: nothing to send to (``customers.email`` for e-mail, ``phone`` for sms;
   webhook, outbox and other channels are always addressable);
5. ``frequency_cap``: the send ledger already holds as many claimed/delivered messages for
   the customer and channel inside a rolling window as a cap allows;
6. ``quiet_hours``: it is night where the customer lives (a time zone column, else the
   country's zone, else UTC).

The legal reasons come first, the temporary ones (caps, quiet hours: try later) last.
Everything is computed over whole columns (DuckDB, pandas, numpy): no loop per customer.
Naive datetimes are UTC throughout (``now`` and the ledger's ``created_at``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd
from sqlalchemy import select

from insightloop.services.context import Context
from insightloop.services.engagement.policy import Policy, local_minutes, zone_names
from insightloop.storage.crypto import PREFIX, decrypt_column
from insightloop.storage.ids import id_sql
from insightloop.storage.operational import open_ops
from insightloop.storage.operational.engagement_models import Suppression
from insightloop.storage.operational.models import SendLedger
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import has_table

#: Every reason, in precedence order (the first that applies is reported).
REASONS = ("unknown_customer", "no_consent", "consent_withdrawn", "suppressed", "no_address",
           "frequency_cap", "quiet_hours")
#: Ledger statuses a frequency cap counts (a claimed message may already have left).
COUNTED_STATUSES = ("claimed", "delivered", "sent")
#: The customers column holding each channel's address; other channels need none.
ADDRESS_COLUMNS = {"email": "email", "sms": "phone"}
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def as_utc(now: datetime | None) -> datetime:
    """``now`` (default: the clock) as a naive UTC datetime."""
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None)
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now


def eligibility(ctx: Context, customer_ids: Sequence[str], channel: str,
                purpose: str = "marketing", now: datetime | None = None,
                policy: Policy | None = None) -> pd.DataFrame:
    """One row per requested customer (in the order given): ``customer_id`` (normalised),
    ``eligible`` and ``reason`` (None when eligible; else the first of :data:`REASONS`)."""
    rules = policy or Policy.from_env()
    at = as_utc(now)
    chan, purp = channel.strip().lower(), purpose.strip().lower()
    facts = _clear_addresses(ctx, _warehouse_facts(ctx, customer_ids, chan, purp, at), chan)
    suppressed = _suppressed(ctx, facts, chan)
    capped = _capped(ctx, facts["customer_id"], chan, at, rules)
    zones = zone_names(facts.get("tz"), facts.get("country"), len(facts))
    quiet = rules.quiet_at(local_minutes(pd.Timestamp(at, tz="UTC"), zones))
    latest = facts["latest_grant"]
    no_record = latest.isna().to_numpy()
    granted = latest.fillna(False).astype(bool).to_numpy()
    opt_out = chan in rules.opt_out_channels
    conditions = np.vstack([
        ~facts["known"].to_numpy(dtype=bool),
        no_record & (not opt_out),
        ~no_record & ~granted,
        suppressed,
        ~facts["addressable"].to_numpy(dtype=bool),
        capped,
        quiet,
    ])
    names = np.array(REASONS, dtype=object)
    blocked = conditions.any(axis=0)
    reason = np.where(blocked, names[conditions.argmax(axis=0)], None)
    return pd.DataFrame({"customer_id": facts["customer_id"].to_numpy(dtype=object),
                         "eligible": ~blocked, "reason": reason})


def _warehouse_facts(ctx: Context, customer_ids: Sequence[str], channel: str, purpose: str,
                     at: datetime) -> pd.DataFrame:
    """Per requested customer: normalised id, known, address, country, tz, newest grant."""
    request = pd.DataFrame({"raw": pd.Series(list(customer_ids), dtype=object).astype(str)})
    request["pos"] = np.arange(len(request), dtype=np.int64)
    name = f"_eligible_{uuid.uuid4().hex}"
    with ctx.read() as con:
        con.register(name, request)
        try:
            return _facts_sql(con, name, channel, purpose, at)
        finally:
            con.unregister(name)


def _facts_sql(con: duckdb.DuckDBPyConnection, request: str, channel: str, purpose: str,
               at: datetime) -> pd.DataFrame:
    has_customers = has_table(con, "customers")
    cols = set(_columns(con, "customers")) if has_customers else set()
    address = ADDRESS_COLUMNS.get(channel)
    tz_col = next((c for c in ("timezone", "tz") if c in cols), None)
    select_cols = ["c.customer_id IS NOT NULL AS known",
                   f"{_addressable(address, cols)} AS addressable",
                   f"(CASE WHEN starts_with(CAST(c.{ident(address)} AS VARCHAR), "
                   f"'{PREFIX}') THEN trim(CAST(c.{ident(address)} AS VARCHAR)) ELSE "
                   f"lower(trim(CAST(c.{ident(address)} AS VARCHAR))) END) AS address"
                   if address in cols else "NULL::VARCHAR AS address",
                   "CAST(c.country AS VARCHAR) AS country" if "country" in cols
                   else "NULL::VARCHAR AS country",
                   f"CAST(c.{ident(tz_col)} AS VARCHAR) AS tz" if tz_col
                   else "NULL::VARCHAR AS tz"]
    customers = ("(SELECT * FROM customers)" if has_customers else
                 "(SELECT NULL::VARCHAR AS customer_id WHERE false)")
    consents = ("""(SELECT customer_id, bool_and(coalesce(granted, false)) AS latest_grant
          FROM (SELECT customer_id, granted, rank() OVER (PARTITION BY customer_id
                       ORDER BY consent_time DESC) AS r
                FROM consents WHERE lower(trim(CAST(channel AS VARCHAR))) = $channel
                  AND lower(trim(CAST(purpose AS VARCHAR))) = $purpose AND consent_time <= $at)
          WHERE r = 1 GROUP BY customer_id)""" if has_table(con, "consents") else
                "(SELECT NULL::VARCHAR AS customer_id, NULL::BOOLEAN AS latest_grant "
                "WHERE false)")
    sql = f"""
        WITH req AS (SELECT {id_sql('raw')} AS customer_id, pos FROM {ident(request)})
        SELECT req.customer_id, {', '.join(select_cols)}, k.latest_grant
        FROM req
        LEFT JOIN {customers} c ON c.customer_id = req.customer_id
        LEFT JOIN {consents} k ON k.customer_id = req.customer_id
        ORDER BY req.pos"""
    params = {"channel": channel, "purpose": purpose, "at": at}
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    return con.execute(sql, used).df()


def _clear_addresses(ctx: Context, facts: pd.DataFrame, channel: str) -> pd.DataFrame:
    """Addresses encrypted at rest (``privacy encrypt``, ingest with a key) opened before
    the address and suppression checks see them."""
    sealed = facts["address"].fillna("").astype(str).str.startswith(PREFIX)
    if not sealed.any():
        return facts
    clear = pd.Series(decrypt_column(ctx.settings, facts["address"].tolist()),
                      index=facts.index, dtype=object).str.strip().str.lower()
    valid = clear.str.match(_EMAIL) if channel == "email" else clear.str.len() > 0
    return facts.assign(address=clear, addressable=facts["addressable"].astype(bool)
                        | (sealed & valid.eq(True)))  # NaN (no text): not valid


def _addressable(address: str | None, cols: set[str]) -> str:
    if address is None:
        return "true"
    if address not in cols:
        return "false"
    value = f"trim(CAST(c.{ident(address)} AS VARCHAR))"
    if address == "email":
        return f"coalesce(regexp_matches({value}, '{_EMAIL}'), false)"
    return f"coalesce(length({value}) > 0, false)"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns "
                       "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()
    return [str(r[0]) for r in rows]


def _suppressed(ctx: Context, facts: pd.DataFrame, channel: str) -> np.ndarray:
    with open_ops(ctx.settings).read() as conn:
        rows = conn.execute(select(Suppression.kind, Suppression.value).where(
            Suppression.channel.in_((channel, "*")))).all()
    listed = pd.DataFrame(rows, columns=["kind", "value"])
    ids = listed.loc[listed["kind"] == "customer", "value"]
    addresses = listed.loc[listed["kind"] == "address", "value"]
    by_id = facts["customer_id"].isin(ids).to_numpy(dtype=bool)
    by_address = facts["address"].isin(addresses).to_numpy(dtype=bool)
    return by_id | by_address


def _capped(ctx: Context, ids: pd.Series, channel: str, at: datetime,
            rules: Policy) -> np.ndarray:
    if not rules.caps or ids.empty:
        return np.zeros(len(ids), dtype=bool)
    since = at - max(c.window for c in rules.caps)
    with open_ops(ctx.settings).read() as conn:
        rows = conn.execute(select(SendLedger.customer_id, SendLedger.created_at).where(
            SendLedger.channel == channel, SendLedger.status.in_(COUNTED_STATUSES),
            SendLedger.created_at > since, SendLedger.created_at <= at)).all()
    sent = pd.DataFrame(rows, columns=["customer_id", "created_at"])
    position = pd.Index(pd.unique(ids.to_numpy(dtype=object)))
    where = position.get_indexer(sent["customer_id"])
    sent, where = sent[where >= 0], where[where >= 0]
    capped = np.zeros(len(position), dtype=bool)
    for cap in rules.caps:  # a handful of caps, not customers
        recent = (sent["created_at"] > at - cap.window).to_numpy()
        capped |= np.bincount(where[recent], minlength=len(position)) >= cap.limit
    return capped[position.get_indexer(ids)]
