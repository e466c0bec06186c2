"""Profiles on the full UCI Online Retail file, checked against the raw CSV.

The expected values are recomputed here from the raw file with plain pandas/Python,
customer by customer, applying the documented rules (ingest: ids lose ``.0``,
``C`` invoices are cancelled, negative quantities on other invoices and negative
prices are quarantined; profiles: see ``insightloop.features.profiles``). Money is
summed per line in cents (``Decimal``, half away from zero), as the pipeline does.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.services.profiles import build_profiles, compute_profiles
from insightloop.settings import Settings
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse
from shared_data import shared_file


def online_retail() -> Path:
    return shared_file("online_retail/online_retail.csv")


CUSTOMERS = ("12346", "17850", "12347", "14911", "13047")
MID = datetime(2011, 6, 1)
FULL_AS_OF = datetime(2011, 12, 10)  # midnight after the last invoice (2011-12-09)


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    frame = pd.read_csv(online_retail(), dtype=str, keep_default_na=False)
    frame["customer"] = frame["CustomerID"].str.strip().str.replace(r"\.0+$", "", regex=True)
    frame["time"] = pd.to_datetime(frame["InvoiceDate"])
    return frame


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, pd.DataFrame]:
    """The full file ingested once and profiles built (table ``profiles``)."""
    csv = online_retail()
    path = tmp_path_factory.mktemp("full") / "warehouse.duckdb"
    wh = Warehouse(path)
    ingest_file(wh, "orders", csv, preset="online-retail")
    build_profiles(ctx_of(Settings.load(warehouse=path, env={})))
    return wh, wh.table("profiles")


def _loaded(rows: pd.DataFrame) -> pd.DataFrame:
    """The raw rows ingestion keeps (documented rules), typed."""
    qty = rows["Quantity"].astype(int)
    price = rows["UnitPrice"].astype(float)
    cancelled = rows["InvoiceNo"].str.upper().str.startswith("C")
    keep = (qty != 0) & (price >= 0) & ~((qty < 0) & ~cancelled)
    out = rows[keep].assign(qty=qty[keep], cancelled=cancelled[keep])
    return out


def expected_profile(raw: pd.DataFrame, customer: str, as_of: datetime) -> dict[str, Any]:
    """One customer's profile from raw rows, with a plain loop over their lines."""
    rows = _loaded(raw[(raw["customer"] == customer) & (raw["time"] < pd.Timestamp(as_of))])
    cents = 0
    gross = 0
    items = 0
    returned = 0
    n_returns = 0
    orders: dict[str, pd.Timestamp] = {}
    product_qty: Counter[str] = Counter()
    countries: Counter[str] = Counter()
    for r in rows.itertuples():
        line = (Decimal(r.qty) * Decimal(r.UnitPrice.strip()) * 100).quantize(
            Decimal(1), rounding=ROUND_HALF_UP)
        cents += int(line)
        countries[r.Country.strip()] += 1
        if r.qty < 0:
            n_returns += 1
            returned += -r.qty
        if r.qty > 0 and not r.cancelled:
            gross += int(line)
            items += r.qty
            orders[r.InvoiceNo] = min(orders.get(r.InvoiceNo, r.time), r.time)
            product_qty[r.StockCode.strip()] += r.qty
    freq = len(orders)
    first = min(orders.values()) if orders else None
    last = max(orders.values()) if orders else None
    day = 86_400.0
    weekdays = Counter(t.weekday() for t in orders.values())
    hours = Counter(t.hour for t in orders.values())
    favs = sorted(product_qty.items(), key=lambda kv: (-kv[1], kv[0]))[:3]

    def mode(counter: Counter[Any]) -> Any:
        return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0] if counter else None

    return {
        "customer_id": customer,
        "n_lines": len(rows),
        "frequency": freq,
        "n_orders": freq,
        "monetary": cents / 100,
        "gross_revenue": gross / 100,
        "n_items": items,
        "n_returns": n_returns,
        "return_rate": returned / items if items else None,
        "avg_order_value": gross / freq / 100 if freq else None,
        "first_order_time": first,
        "last_order_time": last,
        "recency_days": (as_of - last).total_seconds() / day if last is not None else None,
        "tenure_days": (as_of - first).total_seconds() / day if first is not None else None,
        "inter_purchase_days": ((last - first).total_seconds() / day / (freq - 1)
                                if freq > 1 and first is not None and last is not None
                                else None),
        **{f"fav_product_{i + 1}": (favs[i][0] if i < len(favs) else None) for i in range(3)},
        "preferred_weekday": mode(weekdays),
        "preferred_hour": mode(hours),
        "country": mode(countries),
        "channel": "online",
        "last_activity_time": rows["time"].max(),
        "n_events": 0,
    }


def assert_profile_equals(actual: pd.Series, expected: dict[str, Any]) -> None:
    for name, want in expected.items():
        got = actual[name]
        if want is None or (isinstance(want, float) and pd.isna(want)):
            assert got is None or pd.isna(got), (expected["customer_id"], name, got)
        elif isinstance(want, float):
            assert got == pytest.approx(want, abs=1e-6), (expected["customer_id"], name)
        elif isinstance(want, pd.Timestamp | datetime):
            assert pd.Timestamp(got) == pd.Timestamp(want), (expected["customer_id"], name)
        else:
            assert got == want, (expected["customer_id"], name, got, want)


def test_one_profile_per_customer_with_a_loaded_line(full: tuple[Warehouse, pd.DataFrame],
                                                      raw: pd.DataFrame) -> None:
    _, profiles = full
    with_id = raw[raw["customer"] != ""]
    assert with_id["customer"].nunique() == 4372
    assert _loaded(with_id)["customer"].nunique() == 4372
    assert len(profiles) == 4372
    assert profiles["customer_id"].is_unique
    assert set(profiles["customer_id"]) == set(with_id["customer"])
    assert (profiles["as_of"] == pd.Timestamp(FULL_AS_OF)).all()


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_profile_matches_raw_csv(full: tuple[Warehouse, pd.DataFrame], raw: pd.DataFrame,
                                 customer: str) -> None:
    _, profiles = full
    row = profiles.set_index("customer_id").loc[customer]
    row["customer_id"] = customer
    assert_profile_equals(row, expected_profile(raw, customer, FULL_AS_OF))


def test_big_order_and_its_cancellation(full: tuple[Warehouse, pd.DataFrame]) -> None:
    """12346 bought 74,215 of one item and cancelled the whole order the same day."""
    row = full[1].set_index("customer_id").loc["12346"]
    assert row["frequency"] == 1
    assert row["monetary"] == 0.0
    assert row["gross_revenue"] == pytest.approx(77183.60)
    assert row["n_items"] == 74215
    assert row["return_rate"] == 1.0
    assert row["fav_product_1"] == "23166"


def test_point_in_time_equals_truncated_input(full: tuple[Warehouse, pd.DataFrame],
                                              raw: pd.DataFrame, tmp_path: Path) -> None:
    wh, _ = full
    at_mid = compute_profiles(ctx_of(wh), MID)
    early = raw[raw["time"] < pd.Timestamp(MID)]
    csv = tmp_path / "before_june.csv"
    early.drop(columns=["customer", "time"]).to_csv(csv, index=False)
    truncated = Warehouse(tmp_path / "truncated.duckdb")
    ingest_file(truncated, "orders", csv, preset="online-retail")
    expected = compute_profiles(ctx_of(truncated), MID)
    pd.testing.assert_frame_equal(at_mid, expected, check_exact=False, atol=1e-9, rtol=0)
    # No field reflects data from June 2011 onwards.
    for col in ("first_order_time", "last_order_time", "last_activity_time"):
        assert (at_mid[col].dropna() < pd.Timestamp(MID)).all(), col
    assert len(at_mid) == early.loc[early["customer"] != "", "customer"].nunique()
    for customer in CUSTOMERS:
        rows = at_mid.set_index("customer_id")
        if customer in rows.index:
            row = rows.loc[customer].copy()
            row["customer_id"] = customer
            assert_profile_equals(row, expected_profile(raw, customer, MID))
