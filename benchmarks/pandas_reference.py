"""The pandas way: Online Retail ingest + customer profiles, as a data scientist would write it.

A straightforward, competent, vectorised pandas implementation of the same work that
``insightloop ingest orders FILE --preset online-retail`` followed by ``profiles build``
does, applying the same documented rules:

* every field read as text, trimmed, blank -> missing;
* ids lose a trailing ``.0`` (``17850.0`` -> ``17850``);
* quantity must be a non-zero integer, unit price a finite number >= 0, the
  invoice date an ISO timestamp (or ``%m/%d/%Y %H:%M``), order id and stock code present;
* status ``cancelled`` for invoices starting with ``C``; a negative quantity on any
  other invoice is quarantined;
* ``line_no`` numbers lines within an invoice in file order; rows are de-duplicated on
  ``(order_id, line_no)`` (first wins);
* profiles as defined in ``insightloop.features.profiles`` (point-in-time ``as_of``).

Used by ``benchmarks/ingest_profiles.py`` as the baseline; run alone with
``python benchmarks/pandas_reference.py FILE`` to print a summary.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

MAPPING = {
    "InvoiceNo": "order_id", "StockCode": "product_id", "Description": "description",
    "Quantity": "quantity", "InvoiceDate": "order_time", "UnitPrice": "unit_price",
    "CustomerID": "customer_id", "Country": "country",
}
TIME_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%y %H:%M")
TOP_N = 3


def _clean(series: pd.Series) -> pd.Series:
    s = series.str.strip()
    return s.mask(s == "")


def _id(series: pd.Series) -> pd.Series:
    return _clean(series).str.replace(r"\.0+$", "", regex=True)


def _timestamp(series: pd.Series) -> pd.Series:
    out = pd.to_datetime(series, format="ISO8601", errors="coerce")
    for fmt in TIME_FORMATS:
        missing = out.isna() & series.notna()
        if not missing.any():
            break
        out = out.fillna(pd.to_datetime(series.where(missing), format=fmt, errors="coerce"))
    return out


def ingest(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read, type, validate and de-duplicate ``path``; return ``(loaded, quarantine)``."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    raw = raw.rename(columns=MAPPING)
    df = pd.DataFrame({
        "order_id": _id(raw["order_id"]),
        "product_id": _id(raw["product_id"]),
        "customer_id": _id(raw["customer_id"]),
        "description": _clean(raw["description"]),
        "country": _clean(raw["country"]),
    })
    qty = pd.to_numeric(_clean(raw["quantity"]), errors="coerce")
    integral = qty.notna() & np.isfinite(qty) & (qty == np.round(qty))
    df["quantity"] = qty.where(integral).astype("Int64")
    price = pd.to_numeric(_clean(raw["unit_price"]), errors="coerce")
    df["unit_price"] = price.where(np.isfinite(price))
    df["order_time"] = _timestamp(_clean(raw["order_time"]))
    df["status"] = np.where(df["order_id"].str.upper().str.startswith("C", na=False),
                            "cancelled", "completed")
    df["channel"] = "online"
    df["currency"] = "GBP"
    df["line_no"] = df.groupby("order_id", dropna=False).cumcount() + 1

    bad = (
        df["order_id"].isna() | df["product_id"].isna()
        | df["quantity"].isna() | (df["quantity"] == 0)
        | df["unit_price"].isna() | (df["unit_price"] < 0)
        | df["order_time"].isna()
        | (df["order_time"] > pd.Timestamp.now() + pd.Timedelta(days=1))
        | ((df["quantity"] < 0) & (df["status"] != "cancelled"))
    ).fillna(True).to_numpy(bool)
    quarantine = df[bad]
    loaded = df[~bad].drop_duplicates(["order_id", "line_no"], keep="first")
    return loaded.reset_index(drop=True), quarantine.reset_index(drop=True)


def default_as_of(orders: pd.DataFrame) -> datetime:
    last = orders["order_time"].max()
    return datetime(last.year, last.month, last.day) + timedelta(days=1)


def _round_half_away(values: pd.Series) -> pd.Series:
    arr = values.to_numpy(float)
    return pd.Series(np.sign(arr) * np.floor(np.abs(arr) + 0.5), index=values.index)


def _mode(frame: pd.DataFrame, value: str, weight: str | None = None) -> pd.Series:
    """Most frequent ``value`` per customer; ties go to the smallest value."""
    f = frame[frame[value].notna()]
    if weight is None:
        counts = f.groupby(["customer_id", value]).size().rename("n").reset_index()
    else:
        counts = f.groupby(["customer_id", value])[weight].sum().rename("n").reset_index()
    counts = counts.sort_values(["customer_id", "n", value], ascending=[True, False, True])
    return counts.drop_duplicates("customer_id").set_index("customer_id")[value]


def profiles(orders: pd.DataFrame, as_of: datetime | None = None) -> pd.DataFrame:
    """One row per customer with a loaded line before ``as_of`` (see features/profiles.py)."""
    as_of = as_of or default_as_of(orders)
    cutoff = pd.Timestamp(as_of)
    o = orders[orders["customer_id"].notna() & (orders["order_time"] < cutoff)].copy()
    qty = o["quantity"].astype("int64")
    o["quantity"] = qty
    o["cents"] = _round_half_away(qty * o["unit_price"] * 100).astype("int64")
    o["returned"] = (-qty).where(qty < 0, 0)
    buys = o[(qty > 0) & (o["status"] != "cancelled")]

    g = o.groupby("customer_id")
    out = pd.DataFrame({
        "monetary_cents": g["cents"].sum(),
        "n_lines": g.size(),
        "n_returns": (qty < 0).groupby(o["customer_id"]).sum(),
        "returned_items": g["returned"].sum(),
        "last_line_time": g["order_time"].max(),
    })
    b = buys.groupby("customer_id")
    out = out.join(pd.DataFrame({
        "first_order_time": b["order_time"].min(),
        "last_order_time": b["order_time"].max(),
        "frequency": b["order_id"].nunique(),
        "gross_cents": b["cents"].sum(),
        "n_items": b["quantity"].sum(),
    }))
    order_level = buys.groupby(["customer_id", "order_id"], as_index=False)["order_time"].min()
    order_level["weekday"] = order_level["order_time"].dt.dayofweek
    order_level["hour"] = order_level["order_time"].dt.hour
    out["preferred_weekday"] = _mode(order_level, "weekday")
    out["preferred_hour"] = _mode(order_level, "hour")
    out["channel"] = _mode(o, "channel")
    out["country"] = _mode(o, "country")
    fav = _top_products(buys)
    out = out.join(fav)

    freq = out["frequency"].fillna(0).astype("int64")
    n_items = out["n_items"].fillna(0).astype("int64")
    day = np.timedelta64(1, "D")
    res = pd.DataFrame({
        "customer_id": out.index,
        "as_of": cutoff,
        "first_order_time": out["first_order_time"],
        "last_order_time": out["last_order_time"],
        "recency_days": (cutoff - out["last_order_time"]) / day,
        "tenure_days": (cutoff - out["first_order_time"]) / day,
        "frequency": freq,
        "monetary": out["monetary_cents"] / 100.0,
        "gross_revenue": out["gross_cents"].fillna(0) / 100.0,
        "avg_order_value": (out["gross_cents"] / freq / 100.0).where(freq > 0),
        "n_orders": freq,
        "n_items": n_items,
        "n_lines": out["n_lines"],
        "n_returns": out["n_returns"].astype("int64"),
        "return_rate": (out["returned_items"] / n_items).where(n_items > 0),
        "inter_purchase_days": ((out["last_order_time"] - out["first_order_time"]) / day
                                / (freq - 1)).where(freq > 1),
        **{f"fav_product_{i}": out.get(f"fav_product_{i}") for i in range(1, TOP_N + 1)},
        "country": out["country"],
        "channel": out["channel"],
        "preferred_weekday": out["preferred_weekday"],
        "preferred_hour": out["preferred_hour"],
        "last_activity_time": out["last_line_time"],
        "n_events": 0,
    })
    return res.reset_index(drop=True).sort_values("customer_id", ignore_index=True)


def _top_products(buys: pd.DataFrame) -> pd.DataFrame:
    totals = buys.groupby(["customer_id", "product_id"])["quantity"].sum().rename("q")
    totals = totals.reset_index().sort_values(["customer_id", "q", "product_id"],
                                              ascending=[True, False, True])
    totals["rank"] = totals.groupby("customer_id").cumcount() + 1
    top = totals[totals["rank"] <= TOP_N]
    wide = top.pivot(index="customer_id", columns="rank", values="product_id")
    return wide.rename(columns={i: f"fav_product_{i}" for i in wide.columns})


def run(path: Path, as_of: datetime | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Ingest ``path`` and compute profiles; return profiles and row counts."""
    loaded, quarantine = ingest(path)
    prof = profiles(loaded, as_of)
    return prof, {"rows_loaded": len(loaded), "rows_quarantined": len(quarantine),
                  "customers": len(prof)}


if __name__ == "__main__":
    frame, counts = run(Path(sys.argv[1]))
    print(counts)
    print(frame.head())
