"""Send-time optimisation: each customer's best hour and weekday from their engagement
history (opens, clicks, purchases in ``events``; orders in ``orders``), in local time,
shrunk towards the population's profile (:mod:`insightloop.models.sendtime`).

Machine opens are left out: an open flagged in ``properties`` (``machine_open`` or
``apple_mpp`` true) or one within :data:`MACHINE_OPEN_SECONDS` of a send to the same
customer (``sends.send_time``): privacy proxies and scanners open on delivery, not people.
Timestamps are UTC; each customer's zone is their ``timezone``/``tz`` column, else their
country's, else UTC (:mod:`.policy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from insightloop.errors import WarehouseError
from insightloop.models import sendtime as model
from insightloop.services.context import Context
from insightloop.services.engagement.content import normalized
from insightloop.services.engagement.policy import zone_names
from insightloop.services.results.engagement import SendTimesBuild
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import has_table, write_frame

ENGAGEMENT_TYPES = ("open", "opened", "email_open", "click", "clicked", "email_click",
                    "purchase", "order", "checkout")
OPEN_TYPES = ("open", "opened", "email_open")
MACHINE_OPEN_SECONDS = 10
TABLE = "send_times"


def engagement_history(con: Any) -> tuple[pd.DataFrame, int]:
    """(customer_id, ts) of every engagement, and how many machine opens were left out."""
    parts, machine = [], 0
    if has_table(con, "events"):
        types = ", ".join(f"'{t}'" for t in ENGAGEMENT_TYPES)
        opens = ", ".join(f"'{t}'" for t in OPEN_TYPES)
        flag = ("coalesce(lower(json_extract_string(properties, '$.machine_open')) IN "
                "('true', '1') OR lower(json_extract_string(properties, '$.apple_mpp')) IN "
                "('true', '1'), false)")
        near_send = (f"""EXISTS (SELECT 1 FROM sends s WHERE s.customer_id = e.customer_id
                    AND e.event_time >= s.send_time
                    AND e.event_time < s.send_time + INTERVAL {MACHINE_OPEN_SECONDS} SECOND)"""
                     if has_table(con, "sends") else "false")
        frame = con.execute(f"""
            SELECT customer_id, event_time AS ts,
                   lower(event_type) IN ({opens}) AND ({flag} OR {near_send}) AS machine
            FROM events e
            WHERE lower(event_type) IN ({types}) AND customer_id IS NOT NULL
              AND event_time IS NOT NULL""").df()
        machine = int(frame["machine"].sum())
        parts.append(frame.loc[~frame["machine"].astype(bool), ["customer_id", "ts"]])
    if has_table(con, "orders"):
        parts.append(con.execute("""
            SELECT customer_id, min(order_time) AS ts FROM orders
            WHERE customer_id IS NOT NULL AND quantity > 0 GROUP BY customer_id, order_id
            """).df())
    if not parts:
        raise WarehouseError("no events or orders in the warehouse: ingest them first "
                             "(`insightloop ingest orders FILE`)")
    return pd.concat(parts, ignore_index=True), machine


def local_slots(ts: pd.Series, zones: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Local hour and weekday (Monday 0) of UTC timestamps, one conversion per zone."""
    hour = np.zeros(len(ts), dtype=np.int64)
    day = np.zeros(len(ts), dtype=np.int64)
    stamps = pd.to_datetime(ts).dt.tz_localize("UTC")
    for zone, idx in pd.Series(np.arange(len(ts))).groupby(zones.to_numpy()).groups.items():
        local = stamps.iloc[np.asarray(idx)].dt.tz_convert(str(zone))
        hour[np.asarray(idx)] = local.dt.hour.to_numpy()
        day[np.asarray(idx)] = local.dt.weekday.to_numpy()
    return hour, day


def _customer_zones(con: Any) -> pd.DataFrame:
    if not has_table(con, "customers"):
        return pd.DataFrame(columns=["customer_id", "zone"])
    cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'customers'").fetchall()}
    tz_col = next((c for c in ("timezone", "tz") if c in cols), None)
    frame = con.execute(
        "SELECT customer_id, "
        + ("CAST(country AS VARCHAR) AS country, " if "country" in cols
           else "NULL::VARCHAR AS country, ")
        + (f"CAST({ident(tz_col)} AS VARCHAR) AS tz" if tz_col else "NULL::VARCHAR AS tz")
        + " FROM customers").df()
    frame["zone"] = zone_names(frame["tz"], frame["country"], len(frame)).to_numpy()
    return frame[["customer_id", "zone"]]


def compute_send_times(ctx: Context) -> tuple[pd.DataFrame, SendTimesBuild]:
    """The ``send_times`` rows of every customer with a known zone or history."""
    with ctx.read() as con:
        history, machine = engagement_history(con)
        zones = _customer_zones(con)
    ids = pd.Index(pd.concat([zones["customer_id"], history["customer_id"]]).unique())
    zone_of = zones.set_index("customer_id")["zone"].reindex(ids).fillna("UTC")
    cust = ids.get_indexer(history["customer_id"])
    hour, day = local_slots(history["ts"], zone_of.iloc[cust].reset_index(drop=True))
    by_hour = model.fit(model.counts_matrix(cust, hour, len(ids)))
    by_day = model.fit(model.counts_matrix(cust, day, len(ids), model.WEEKDAYS),
                       neighbour=0.0)
    # "customer": their own events carry at least half the weight, or moved the answer
    # away from the population's hour.
    own = (by_hour.events > 0) & ((by_hour.own_weight >= 0.5)
                                  | (by_hour.best != by_hour.population_best))
    frame = pd.DataFrame({
        "customer_id": ids.to_numpy(dtype=object), "hour": by_hour.best.astype(np.int32),
        "weekday": by_day.best.astype(np.int32),
        "source": np.where(own, "customer", "population"),
        "events": by_hour.events.astype(np.int64), "own_weight": by_hour.own_weight,
        "timezone": zone_of.to_numpy(dtype=object)})
    summary: SendTimesBuild = {
        "table": TABLE, "customers": len(frame), "from_customer": int(own.sum()),
        "from_population": int((~own).sum()), "population_hour": by_hour.population_best,
        "prior_strength": by_hour.prior_strength, "events": len(history),
        "machine_opens_excluded": machine}
    return frame, summary


def build_send_times(ctx: Context) -> SendTimesBuild:
    """Write table ``send_times`` (one row per customer) and return a summary."""
    frame, summary = compute_send_times(ctx)
    if ctx.warehouse.read_only:
        return summary
    with ctx.warehouse.transaction() as con:
        write_frame(con, TABLE, frame)
    return summary


def best_send_hour(ctx: Context, customer_ids: Sequence[str]) -> pd.DataFrame:
    """``customer_id``, ``hour``, ``weekday``, ``source`` ("customer" or "population") in
    the order given: from table ``send_times`` when built, else computed now. A customer
    unknown to both gets the population's hour and weekday."""
    request = pd.DataFrame({"customer_id": pd.Series(normalized(customer_ids), dtype=object)})
    with ctx.read() as con:
        built = has_table(con, TABLE)
        table = (con.execute(f"SELECT customer_id, hour, weekday, source FROM {TABLE}").df()
                 if built else None)
    if table is None:
        table = compute_send_times(ctx)[0][["customer_id", "hour", "weekday", "source"]]
    crowd = table[table["source"] == "population"]
    crowd = crowd if not crowd.empty else table
    fallback = ({"hour": int(crowd["hour"].mode().iloc[0]),
                 "weekday": int(crowd["weekday"].mode().iloc[0])} if not crowd.empty
                else {"hour": 12, "weekday": 1})
    found = request.merge(table, on="customer_id", how="left")
    missing = found["hour"].isna()
    found.loc[missing, "source"] = "population"
    return found.fillna(fallback).astype({"hour": np.int64, "weekday": np.int64})


def next_best_times(ctx: Context, customer_ids: Sequence[str], now: datetime,
                    window_hours: int = 24) -> pd.DataFrame:
    """``customer_id``, ``hour`` (local), ``source`` and ``due_at`` (naive UTC): the next
    start of each customer's best hour in their own zone at or after ``now`` (naive UTC);
    ``now`` itself when the customer is in that hour already or the hour is more than
    ``window_hours`` away."""
    best = best_send_hour(ctx, customer_ids)
    with ctx.read() as con:
        zones = _customer_zones(con)
    zone = best[["customer_id"]].merge(zones, on="customer_id", how="left")["zone"]
    zone = zone.fillna("UTC").astype(str).to_numpy(dtype=object)
    start = pd.Timestamp(now).tz_localize("UTC")
    due = np.full(len(best), start.tz_localize(None).to_datetime64(), dtype="datetime64[ns]")
    hours = best["hour"].to_numpy(dtype=np.int64)
    for name in pd.unique(zone):  # a handful of zones, each one vectorised conversion
        idx = np.flatnonzero(zone == name)
        local = start.tz_convert(str(name))
        ahead = (hours[idx] - local.hour) % 24  # whole hours until the best hour starts
        target = local.floor("h") + pd.to_timedelta(ahead, unit="h")
        target = target.where(ahead > 0, local)  # already in the best hour: now
        due[idx] = target.tz_convert("UTC").tz_localize(None).to_numpy()
    out = best[["customer_id", "hour", "source"]].copy()
    out["due_at"] = due
    late = out["due_at"] - pd.Timestamp(now) > pd.Timedelta(hours=window_hours)
    out.loc[late, "due_at"] = pd.Timestamp(now)
    return out
