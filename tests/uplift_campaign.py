"""Synthetic campaigns in canonical files, for the uplift tests (service and CLI).

``campaign_files``: the e-mail makes customers with three or more past orders buy (+0.35
within 30 days) and does nothing for the others; 60% of customers have 3-5 past orders (1-5
uniformly). ``shop_files``: the same e-mail in a shop whose customers buy and leave as the
CLV models assume (for the uplift on predicted CLV).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

N = 2400


def campaign_files(folder: Path, seed: int = 0) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"c{i:05d}" for i in range(N)])
    past = rng.integers(1, 6, N)  # orders before the send
    arm = rng.choice(np.array(["email", "control"]), N)
    buys = rng.random(N) < 0.1 + 0.35 * ((arm == "email") & (past >= 3))
    cust = np.repeat(ids, past)
    days = rng.integers(1, 300, len(cust))
    before = pd.DataFrame({"order_id": [f"o{i}" for i in range(len(cust))],
                           "customer_id": cust,
                           "order_time": pd.Timestamp("2023-01-01") + pd.to_timedelta(days, "D")})
    after = pd.DataFrame({"order_id": [f"p{i}" for i in range(int(buys.sum()))],
                          "customer_id": ids[buys],
                          "order_time": pd.Timestamp("2024-01-12")})
    orders = pd.concat([before, after], ignore_index=True)
    orders["product_id"] = "sku1"
    orders["quantity"] = 1
    orders["unit_price"] = 20.0
    paths = {name: folder / f"{name}.csv" for name in ("customers", "products", "campaigns",
                                                       "orders", "sends")}
    pd.DataFrame({"customer_id": ids}).to_csv(paths["customers"], index=False)
    pd.DataFrame({"product_id": ["sku1"], "name": ["mug"]}).to_csv(paths["products"],
                                                                   index=False)
    pd.DataFrame({"campaign_id": ["jan"], "name": ["January"]}).to_csv(paths["campaigns"],
                                                                       index=False)
    orders.to_csv(paths["orders"], index=False)
    pd.DataFrame({"send_id": [f"s{i}" for i in range(N)], "campaign_id": "jan",
                  "customer_id": ids, "variant": arm,
                  "send_time": "2024-01-10 09:00:00"}).to_csv(paths["sends"], index=False)
    return paths


SHOP_N = 3000
SHOP_START, SEND = pd.Timestamp("2023-01-01"), pd.Timestamp("2024-01-10 09:00:00")


def shop_files(folder: Path, seed: int = 3) -> dict[str, Path]:
    """A shop whose customers buy as the CLV models assume (gamma-distributed rates, a
    chance to leave after each purchase, log-normal order values), then a randomised e-mail
    that makes customers with three or more past orders buy once more within 30 days."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"c{i:05d}" for i in range(SHOP_N)])
    rate = rng.gamma(0.8, 1 / 20, SHOP_N)  # purchases per day while alive
    drop = rng.beta(1.0, 4.0, SHOP_N)  # chance to leave after each purchase
    t = rng.uniform(0, 300, SHOP_N)  # first purchase, days after SHOP_START
    alive = np.ones(SHOP_N, dtype=bool)
    cust, days = [ids], [t.copy()]
    end = (SEND - SHOP_START) / pd.Timedelta(days=1)
    for _ in range(60):  # purchase rounds (vectorised over customers)
        alive &= rng.random(SHOP_N) >= drop
        t = t + rng.exponential(1.0 / rate)
        keep = alive & (t < end)
        cust.append(ids[keep])
        days.append(t[keep])
    cust_all, day_all = np.concatenate(cust), np.concatenate(days)
    past = pd.Series(cust_all).value_counts().reindex(ids).to_numpy()
    arm = rng.choice(np.array(["email", "control"]), SHOP_N)
    buys = rng.random(SHOP_N) < 0.1 + 0.35 * ((arm == "email") & (past >= 3))
    cust_all = np.concatenate([cust_all, ids[buys]])
    day_all = np.concatenate([day_all, np.full(int(buys.sum()), end + 2.0)])
    orders = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(cust_all))], "customer_id": cust_all,
        "order_time": (SHOP_START + pd.to_timedelta(np.floor(day_all * 24), "h")),
        "product_id": "sku1", "quantity": 1,
        "unit_price": np.round(rng.lognormal(3.0, 0.5, len(cust_all)), 2)})
    paths = campaign_files(folder)  # customers, products, campaigns of the same shape
    pd.DataFrame({"customer_id": ids}).to_csv(paths["customers"], index=False)
    orders.to_csv(paths["orders"], index=False)
    pd.DataFrame({"send_id": [f"s{i}" for i in range(SHOP_N)], "campaign_id": "jan",
                  "customer_id": ids, "variant": arm,
                  "send_time": str(SEND)}).to_csv(paths["sends"], index=False)
    return paths
