"""A campaign's exposures in the warehouse: its ``campaigns`` row and its ``sends`` rows,
so ``insightloop experiment analyze --campaign ID`` measures it with no extra work.

Treated rows are every eligible customer of a variant the campaign tried to reach
(delivered, bounced, failed or still claimed: intent to treat; a send still held for the
customer's best hour is not an exposure yet); control rows are the
held-out customers who were eligible when they were held out (a held-out customer without
consent would not have been sent anything, so comparing with them would be biased).
``send_id`` is the MD5 of ``campaign:customer``; a run replaces the campaign's rows in one
transaction, so exposures never duplicate. ``converted`` and ``revenue`` are filled from
``orders`` in the ``window_days`` after each send as of the run (re-running a finished
campaign sends nothing and refreshes them).
"""

from __future__ import annotations

import uuid

import pandas as pd

import insightloop.services.campaigns.ledger as ledger
from insightloop.services.campaigns.spec import CONTROL
from insightloop.services.context import Context
from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.warehouse import has_table

WINDOW_DAYS = 30


def exposures_frame(store: OpsStore, campaign_id: str, step: str) -> pd.DataFrame:
    """``customer_id``, ``variant``, ``send_time`` of the campaign's exposures."""
    book = ledger.rows_of(store, campaign_id, step)
    treated = ~book["status"].isin(["held_out", "suppressed", "held"])
    control = book["status"].eq("held_out") & book["reason"].isna()
    rows = book[treated | control]
    is_control = control[treated | control]
    return pd.DataFrame({
        "customer_id": rows["customer_id"].astype(str).to_numpy(),
        "variant": rows["variant"].where(~is_control, CONTROL).astype(str).to_numpy(),
        "send_time": pd.to_datetime(rows["confirmed_at"]).fillna(
            pd.to_datetime(rows["created_at"])).to_numpy()})


def write_exposures(ctx: Context, store: OpsStore, campaign_id: str, name: str,
                    channel: str, step: str, window_days: int = WINDOW_DAYS) -> int:
    """Replace the campaign's rows in ``campaigns`` and ``sends``; returns the sends."""
    frame = exposures_frame(store, campaign_id, step)
    view = f"_exposures_{uuid.uuid4().hex}"
    days = int(window_days)
    with ctx.warehouse.transaction() as con:
        con.register(view, frame)
        try:
            con.execute("DELETE FROM sends WHERE campaign_id = ?", [campaign_id])
            con.execute("DELETE FROM campaigns WHERE campaign_id = ?", [campaign_id])
            con.execute(
                "INSERT INTO campaigns (campaign_id, name, channel, objective, start_time, "
                "end_time) SELECT ?, ?, ?, 'holdout-measured campaign', min(send_time), "
                f"max(send_time) FROM {view}", [campaign_id, name, channel])
            window = (f"o.customer_id = e.customer_id AND o.order_time >= e.send_time AND "
                      f"o.order_time < e.send_time + INTERVAL {days} DAY")
            converted, revenue = (
                f"(SELECT count(*) > 0 FROM orders o WHERE {window} AND o.quantity > 0)",
                f"(SELECT coalesce(sum(o.quantity * o.unit_price), 0) FROM orders o "
                f"WHERE {window})") if has_table(con, "orders") else ("NULL", "NULL")
            con.execute(
                "INSERT INTO sends (send_id, campaign_id, customer_id, variant, send_time, "
                f"converted, revenue) SELECT md5(? || ':' || e.customer_id), ?, "
                f"e.customer_id, e.variant, e.send_time, {converted}, {revenue} "
                f"FROM {view} e", [campaign_id, campaign_id])
        finally:
            con.unregister(view)
    return len(frame)
