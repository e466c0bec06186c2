"""A synthetic shop with known answers for the planning tests (services, CLI, API).

130 complete weeks from Monday 2022-01-03, sales Monday to Friday with a fixed weekday
pattern (Mon 1.2, Tue 1.0, Wed 1.0, Thu 0.8, Fri 1.0 of the daily mean):

* ``GROW`` doubles every 52 weeks (year-over-year growth exactly +100%);
* ``XMAS`` sells 10 a week plus a Christmas bump the same every year (no trend);
* ``FLAT`` sells 40 a week, with one spike week (week 100: 240);
* ``NEW`` starts in week 100 (a launch);
* ``COAT`` sells 20 a week in France (the others ship to the United Kingdom).

One extra sale on the Monday after week 130 (an incomplete week the series leave out).
Products have categories (``GROW``, ``FLAT``: home; ``XMAS``: seasonal; ``NEW``, ``COAT``:
new) and prices.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse

START = pd.Timestamp("2022-01-03")
WEEKS = 130
WEEKDAY = np.array([1.2, 1.0, 1.0, 0.8, 1.0])
SPIKE_WEEK = 100
PRICES = {"GROW": 2.0, "XMAS": 5.0, "FLAT": 1.0, "NEW": 3.0, "COAT": 10.0}


def weekly_levels() -> dict[str, np.ndarray]:
    w = np.arange(WEEKS, dtype=float)
    bump = np.exp(-0.5 * (((w % 52) - 49) / 5.0) ** 2)
    flat = np.full(WEEKS, 40.0)
    flat[SPIKE_WEEK] = 240.0
    new = np.where(w >= SPIKE_WEEK, np.minimum(50.0, 5.0 * (w - SPIKE_WEEK + 1)), 0.0)
    return {"GROW": 50.0 * 2 ** (w / 52), "XMAS": 10.0 + 90.0 * bump, "FLAT": flat,
            "NEW": new, "COAT": np.full(WEEKS, 20.0)}


def orders_frame() -> pd.DataFrame:
    levels = weekly_levels()
    names = np.array(list(levels))
    weekly = np.vstack([levels[n] for n in names])  # products x weeks
    daily = weekly[:, :, None] / 5 * WEEKDAY[None, None, :]  # products x weeks x 5 days
    qty = np.round(daily).astype(np.int64)
    p, w, d = np.nonzero(qty)
    # one more sale on the Monday after the last week: the data runs into a week that is
    # incomplete, so the demand series (which drop an incomplete last week) keep all 130
    p, w, d = np.append(p, 0), np.append(w, WEEKS), np.append(d, 0)
    qty = np.concatenate([qty, np.ones((qty.shape[0], 1, 5), dtype=np.int64)], axis=1)
    day = START + pd.to_timedelta(w * 7 + d, unit="D") + pd.Timedelta(hours=10)
    return pd.DataFrame({
        "order_id": [f"O{i}" for i in range(len(p))], "customer_id": "C1",
        "product_id": names[p], "quantity": qty[p, w, d],
        "unit_price": np.array([PRICES[n] for n in names])[p],
        "order_time": day.strftime("%Y-%m-%d %H:%M:%S"),
        "country": np.where(names[p] == "COAT", "France", "United Kingdom")})


def products_frame() -> pd.DataFrame:
    return pd.DataFrame({"product_id": list(PRICES), "name": [f"{k} item" for k in PRICES],
                         "category": ["home", "seasonal", "home", "new", "new"],
                         "price": list(PRICES.values())})


def make_shop(folder: Path, with_products: bool = True) -> Path:
    """A warehouse with the shop's orders and (``with_products``) products ingested;
    returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "shop.duckdb"
    orders, products_file = folder / "orders.csv", folder / "products.csv"
    orders_frame().to_csv(orders, index=False)
    products_frame().to_csv(products_file, index=False)
    if with_products:
        ingest_file(Warehouse(path), "products", products_file)
    ingest_file(Warehouse(path), "orders", orders)
    return path


def elastic_world(n: int, weeks: int, h: int, cut_steps: tuple[int, ...],
                  elasticity: float = 2.0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` weekly series (history ``weeks`` + ``h`` future weeks) whose demand is
    ``base x (price / usual price) ^ -elasticity`` with Poisson noise; past promotions cut
    the price 10-40 % in about a quarter of the weeks, and the future has a planned 30 %
    cut at horizon steps ``cut_steps`` (1-based). Returns the sales ``unique_id, ds, y``
    and the prices ``unique_id, ds, price`` (history and future)."""
    rng = np.random.default_rng(seed)
    total = weeks + h
    usual = rng.uniform(2.0, 20.0, n)[:, None]
    off = np.where(rng.random((n, total)) < 0.25,
                   rng.choice([0.1, 0.2, 0.3, 0.4], (n, total)), 0.0)
    off[:, weeks:] = 0.0
    off[:, [weeks + s - 1 for s in cut_steps]] = 0.3
    price = usual * (1 - off)
    base = rng.gamma(4.0, 10.0, n)[:, None]
    y = rng.poisson(base * (price / usual) ** -elasticity).astype(float)
    ds = pd.date_range("2021-01-04", periods=total, freq="7D")
    ids = np.array([f"s{i:02d}" for i in range(n)])
    frame = pd.DataFrame({"unique_id": np.repeat(ids, total), "ds": np.tile(ds, n),
                          "y": y.ravel()})
    prices = pd.DataFrame({"unique_id": np.repeat(ids, total), "ds": np.tile(ds, n),
                           "price": price.ravel()})
    return frame, prices
