"""Variants chosen by a Thompson-sampling bandit (``--allocation bandit``).

The bandit lives in the operational store (:mod:`insightloop.storage.operational.bandits`,
the same tables as ``insightloop experiment bandit``), named ``campaign-<campaign>``; a
schedule's runs share their campaign's bandit, so the allocation learns across runs.

Rewards come from the warehouse, the record of what happened: before choosing, the state
is refreshed from every exposure of the campaigns that use the bandit (table ``sends``) and
whether the customer ordered (``orders``) or clicked or opened (``events``, machine opens
not told apart here) within :data:`WINDOW_DAYS` after the send and before the customer's
next send of these campaigns (last touch: an order is credited to one send). The refresh
sets each arm's successes and failures outright, so it is idempotent. Each batch of new
messages draws one Beta(successes + 1, failures + 1) sample per message and arm and takes
the best arm (vectorised), then adds the batch's pulls in one write.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, select, update

import insightloop.storage.operational.bandits as bandits
from insightloop.services.context import Context
from insightloop.storage.operational.campaign_models import CampaignDef
from insightloop.storage.operational.engine import OpsStore
from insightloop.storage.operational.models import Bandit, BanditArm
from insightloop.storage.warehouse import has_table

WINDOW_DAYS = 7
REWARD_EVENTS = ("click", "clicked", "email_click", "open", "opened", "email_open")


def ensure(store: OpsStore, bandit_id: str, arms: list[str], seed: int) -> None:
    """Create the campaign's bandit (no holdout of its own: the campaign has one)."""
    bandits.create(store, bandit_id, arms, 0.0, seed)


def outcomes(ctx: Context, campaign_ids: list[str],
             window_days: int = WINDOW_DAYS) -> pd.DataFrame:
    """``variant``, ``n`` and ``successes`` of the campaigns' treated exposures."""
    empty = pd.DataFrame({"variant": pd.Series(dtype=object), "n": pd.Series(dtype=int),
                          "successes": pd.Series(dtype=float)})
    if not campaign_ids:
        return empty
    with ctx.read() as con:
        if not has_table(con, "sends"):
            return empty
        days = int(window_days)
        within = ("x.customer_id = s.customer_id AND x.{t} >= s.send_time "
                  "AND x.{t} < s.until")
        hits = []
        if has_table(con, "orders"):
            hits.append(f"EXISTS (SELECT 1 FROM orders x WHERE {within.format(t='order_time')}"
                        " AND x.quantity > 0)")
        if has_table(con, "events"):
            kinds = ", ".join(f"'{k}'" for k in REWARD_EVENTS)
            hits.append(f"EXISTS (SELECT 1 FROM events x WHERE {within.format(t='event_time')}"
                        f" AND lower(x.event_type) IN ({kinds}))")
        hit = " OR ".join(hits) or "false"
        marks = ", ".join("?" for _ in campaign_ids)
        # last touch: an outcome counts for the latest of these sends before it
        return con.execute(
            f"WITH e AS (SELECT customer_id, variant, send_time, least(send_time + "
            f"INTERVAL {days} DAY, coalesce(lead(send_time) OVER (PARTITION BY customer_id "
            f"ORDER BY send_time), send_time + INTERVAL {days} DAY)) AS until FROM sends "
            f"WHERE campaign_id IN ({marks})) "
            f"SELECT s.variant, count(*) AS n, sum(CAST({hit} AS INTEGER))::DOUBLE AS "
            "successes FROM e s WHERE s.variant <> 'control' GROUP BY s.variant",
            list(campaign_ids)).df()


def refresh(ctx: Context, store: OpsStore, bandit_id: str) -> None:
    """Set the bandit's rewards from the warehouse (see the module's notes)."""
    with store.read() as conn:
        members = [r[0] for r in conn.execute(
            select(CampaignDef.id).where(CampaignDef.bandit == bandit_id)).all()]
    seen = outcomes(ctx, members)
    arm = seen["variant"].astype(str).str.split(":").str[0]  # timing arms share a variant
    per = seen.assign(arm=arm).groupby("arm")[["n", "successes"]].sum()
    if per.empty:
        return
    rows = [{"a": str(a), "s": float(r.successes), "f": float(r.n - r.successes)}
            for a, r in per.iterrows()]
    with store.write(lock=f"bandit:{bandit_id}") as conn:
        conn.execute(update(BanditArm).where(BanditArm.bandit_id == bandit_id,
                                             BanditArm.arm == bindparam("a"))
                     .values(successes=bindparam("s"), failures=bindparam("f")), rows)


def choose(store: OpsStore, bandit_id: str, n: int) -> np.ndarray:
    """Arms for ``n`` new messages by Thompson sampling (seeded by the bandit's seed and
    draw counter), the pulls added in one write. A campaign's runs hold its lease, so one
    process draws for it at a time; runs of one schedule are sequential."""
    state = bandits.state(store, bandit_id)
    arms = [s for s in state.stats if s.arm != bandits.HOLDOUT]
    rng = np.random.default_rng([state.seed, state.draws])
    draws = rng.beta(np.array([a.successes for a in arms]) + 1.0,
                     np.array([a.failures for a in arms]) + 1.0, size=(n, len(arms)))
    names = np.array([a.arm for a in arms], dtype=object)
    picked = names[draws.argmax(axis=1)] if n else names[:0]
    counts = pd.Series(picked, dtype=object).value_counts()
    with store.write(lock=f"bandit:{bandit_id}") as conn:
        conn.execute(update(Bandit).where(Bandit.id == bandit_id)
                     .values(draws=Bandit.draws + n))
        if not counts.empty:
            conn.execute(update(BanditArm).where(BanditArm.bandit_id == bandit_id,
                                                 BanditArm.arm == bindparam("a"))
                         .values(pulls=BanditArm.pulls + bindparam("k")),
                         [{"a": str(a), "k": int(k)} for a, k in counts.items()])
    return np.asarray(picked, dtype=object)
