"""A synthetic campaign in canonical files, for the uplift tests (service and CLI).

The e-mail makes customers with three or more past orders buy (+0.35 within 30 days) and
does nothing for the others; 60% of customers have 3-5 past orders (1-5 uniformly).
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
