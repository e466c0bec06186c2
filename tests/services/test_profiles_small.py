"""Profiles on a tiny hand-made warehouse with every column's answer worked out by hand.

as_of = 2024-02-01 00:00. Customers:

* c1 — orders O1 (Mon 2024-01-01 10:00: 2×P1 @10.00 + 1×P2 @5.50, web) and O2
  (Wed 2024-01-03 15:00: 1×P2 @5.50, app), a return O3 (1×P1, Wed 2024-01-10 09:00,
  web) and an order after as_of (ignored). Ties everywhere: P1 and P2 both 2 items
  (→ P1, P2), categories toys 2 / books 2 (→ books, toys), weekdays Mon/Wed (→ 0),
  hours 10/15 (→ 10). Customers table says Ireland (overrides the order country);
  one event before as_of (2024-01-20 12:00), one after.
* c2 — two store orders on Saturdays (08:00, 20:00: 3 + 1 × P3 @2.00, FR) and a
  cancelled order C7 with a positive quantity (2×P4 @3.00, DE): counts in monetary and
  lines, not as a purchase. P4 has no product row, so no category.
* c3 — only a cancellation line: a profile row with no purchases.
* c6 — sub-cent prices: 1 and 3 × 0.125 → 13 + 38 cents (each line rounded to cents).
* a guest line (no customer), c4 (customers table only) and c5 (only after as_of): no row.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from contexts import ctx_of
from insightloop.services.profiles import compute_profiles
from insightloop.storage.warehouse import Warehouse, write_frame

AS_OF = datetime(2024, 2, 1)
T = pd.Timestamp

ORDERS = [
    # order_id, line_no, customer, product, qty, price, time, channel, status, country
    ("O1", 1, "c1", "P1", 2, 10.00, "2024-01-01 10:00", "web", "completed", "UK"),
    ("O1", 2, "c1", "P2", 1, 5.50, "2024-01-01 10:00", "web", "completed", "UK"),
    ("O2", 1, "c1", "P2", 1, 5.50, "2024-01-03 15:00", "app", "completed", "UK"),
    ("O3", 1, "c1", "P1", -1, 10.00, "2024-01-10 09:00", "web", "returned", "UK"),
    ("O4", 1, "c1", "P3", 5, 1.00, "2024-02-05 09:00", "web", "completed", "UK"),
    ("O5", 1, "c2", "P3", 3, 2.00, "2024-01-06 08:00", "store", "completed", "FR"),
    ("O6", 1, "c2", "P3", 1, 2.00, "2024-01-13 20:00", "store", "completed", "FR"),
    ("C7", 1, "c2", "P4", 2, 3.00, "2024-01-14 11:00", "store", "cancelled", "DE"),
    ("C8", 1, "c3", "P1", -1, 10.00, "2024-01-15 12:00", "web", "cancelled", "UK"),
    ("O9", 1, "c6", "P5", 1, 0.125, "2024-01-17 07:30", "web", "completed", "UK"),
    ("O9", 2, "c6", "P5", 3, 0.125, "2024-01-17 07:30", "web", "completed", "UK"),
    ("O10", 1, None, "P1", 1, 10.00, "2024-01-05 10:00", "web", "completed", "UK"),
    ("O11", 1, "c5", "P1", 1, 10.00, "2024-03-01 10:00", "web", "completed", "UK"),
]
PRODUCTS = [("P1", "toys"), ("P2", "books"), ("P3", "garden"), ("P5", "craft")]
CUSTOMERS = [("c1", "Ireland"), ("c3", "Spain"), ("c4", "Norway")]
EVENTS = [("e1", "c1", "view", "2024-01-20 12:00"), ("e2", "c1", "view", "2024-02-10 12:00"),
          ("e3", "c4", "view", "2024-01-02 12:00")]

NULL = None
EXPECTED: dict[str, dict[str, Any]] = {
    "c1": {
        "first_order_time": T("2024-01-01 10:00"), "last_order_time": T("2024-01-03 15:00"),
        "recency_days": 28 + 9 / 24, "tenure_days": 30 + 14 / 24,
        "frequency": 2, "n_orders": 2, "monetary": 21.00, "gross_revenue": 31.00,
        "avg_order_value": 15.50, "n_items": 4, "n_lines": 4, "n_returns": 1,
        "return_rate": 0.25, "inter_purchase_days": 2 + 5 / 24,
        # 30-day window starts 2024-01-02: only O2 is in it.
        "orders_30d": 1, "revenue_30d": 5.50, "orders_90d": 2, "revenue_90d": 31.00,
        "fav_product_1": "P1", "fav_product_2": "P2", "fav_product_3": NULL,
        "fav_category_1": "books", "fav_category_2": "toys", "fav_category_3": NULL,
        "country": "Ireland", "channel": "web", "preferred_weekday": 0, "preferred_hour": 10,
        "last_activity_time": T("2024-01-20 12:00"), "n_events": 1,
    },
    "c2": {
        "first_order_time": T("2024-01-06 08:00"), "last_order_time": T("2024-01-13 20:00"),
        "recency_days": 18 + 4 / 24, "tenure_days": 25 + 16 / 24,
        "frequency": 2, "n_orders": 2, "monetary": 14.00, "gross_revenue": 8.00,
        "avg_order_value": 4.00, "n_items": 4, "n_lines": 3, "n_returns": 0,
        "return_rate": 0.0, "inter_purchase_days": 7 + 12 / 24,
        "orders_30d": 2, "revenue_30d": 8.00, "orders_90d": 2, "revenue_90d": 8.00,
        "fav_product_1": "P3", "fav_product_2": NULL, "fav_product_3": NULL,
        "fav_category_1": "garden", "fav_category_2": NULL, "fav_category_3": NULL,
        "country": "FR", "channel": "store", "preferred_weekday": 5, "preferred_hour": 8,
        "last_activity_time": T("2024-01-14 11:00"), "n_events": 0,
    },
    "c3": {
        "first_order_time": NULL, "last_order_time": NULL, "recency_days": NULL,
        "tenure_days": NULL, "frequency": 0, "n_orders": 0, "monetary": -10.00,
        "gross_revenue": 0.0, "avg_order_value": NULL, "n_items": 0, "n_lines": 1,
        "n_returns": 1, "return_rate": NULL, "inter_purchase_days": NULL,
        "orders_30d": 0, "revenue_30d": 0.0, "orders_90d": 0, "revenue_90d": 0.0,
        "fav_product_1": NULL, "fav_product_2": NULL, "fav_product_3": NULL,
        "fav_category_1": NULL, "fav_category_2": NULL, "fav_category_3": NULL,
        "country": "Spain", "channel": "web", "preferred_weekday": NULL,
        "preferred_hour": NULL, "last_activity_time": T("2024-01-15 12:00"), "n_events": 0,
    },
    "c6": {
        "first_order_time": T("2024-01-17 07:30"), "last_order_time": T("2024-01-17 07:30"),
        "recency_days": 14 + 16.5 / 24, "tenure_days": 14 + 16.5 / 24,
        "frequency": 1, "n_orders": 1, "monetary": 0.51, "gross_revenue": 0.51,
        "avg_order_value": 0.51, "n_items": 4, "n_lines": 2, "n_returns": 0,
        "return_rate": 0.0, "inter_purchase_days": NULL,
        "orders_30d": 1, "revenue_30d": 0.51, "orders_90d": 1, "revenue_90d": 0.51,
        "fav_product_1": "P5", "fav_product_2": NULL, "fav_product_3": NULL,
        "fav_category_1": "craft", "fav_category_2": NULL, "fav_category_3": NULL,
        "country": "UK", "channel": "web", "preferred_weekday": 2, "preferred_hour": 7,
        "last_activity_time": T("2024-01-17 07:30"), "n_events": 0,
    },
}


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    wh = Warehouse(tmp_path_factory.mktemp("small") / "warehouse.duckdb")
    orders = pd.DataFrame(ORDERS, columns=["order_id", "line_no", "customer_id", "product_id",
                                           "quantity", "unit_price", "order_time", "channel",
                                           "status", "country"])
    orders["order_time"] = pd.to_datetime(orders["order_time"])
    events = pd.DataFrame(EVENTS, columns=["event_id", "customer_id", "event_type",
                                           "event_time"])
    events["event_time"] = pd.to_datetime(events["event_time"])
    with wh.transaction() as con:
        write_frame(con, "orders", orders, replace=False)
        write_frame(con, "products", pd.DataFrame(PRODUCTS, columns=["product_id", "category"]),
                    replace=False)
        write_frame(con, "customers", pd.DataFrame(CUSTOMERS,
                                                   columns=["customer_id", "country"]),
                    replace=False)
        write_frame(con, "events", events, replace=False)
    return compute_profiles(ctx_of(wh), AS_OF).set_index("customer_id")


def test_one_row_per_customer_with_a_line_before_as_of(profiles: pd.DataFrame) -> None:
    assert list(profiles.index) == ["c1", "c2", "c3", "c6"]
    assert (profiles["as_of"] == pd.Timestamp(AS_OF)).all()


@pytest.mark.parametrize("customer", sorted(EXPECTED))
def test_every_column_known_answer(profiles: pd.DataFrame, customer: str) -> None:
    row = profiles.loc[customer]
    expected = EXPECTED[customer]
    assert set(expected) == set(profiles.columns) - {"as_of"}
    for name, want in expected.items():
        got = row[name]
        if want is None:
            assert got is None or pd.isna(got), (customer, name, got)
        elif isinstance(want, float):
            assert got == pytest.approx(want, abs=1e-9), (customer, name, got)
        else:
            assert got == want, (customer, name, got)


def test_profiles_ignore_rows_from_as_of_on(profiles: pd.DataFrame) -> None:
    for col in ("first_order_time", "last_order_time", "last_activity_time"):
        assert (profiles[col].dropna() < pd.Timestamp(AS_OF)).all()
    assert "P3" not in set(profiles.loc["c1", ["fav_product_1", "fav_product_2"]])


def test_small_warehouse_path(tmp_path: Path) -> None:
    """An as_of before every order gives no profiles, not an error."""
    wh = Warehouse(tmp_path / "w.duckdb")
    frame = pd.DataFrame(ORDERS[:1], columns=["order_id", "line_no", "customer_id",
                                              "product_id", "quantity", "unit_price",
                                              "order_time", "channel", "status", "country"])
    frame["order_time"] = pd.to_datetime(frame["order_time"])
    wh.write_frame("orders", frame, replace=False)
    assert compute_profiles(ctx_of(wh), datetime(2023, 1, 1)).empty


def test_build_refuses_to_replace_profiles_with_none(tmp_path: Path) -> None:
    """A mistaken --as-of before every order keeps the profiles that were there."""
    from insightloop.errors import WarehouseError
    from insightloop.services.profiles import build_profiles
    from insightloop.settings import Settings

    path = tmp_path / "w.duckdb"
    frame = pd.DataFrame(ORDERS, columns=["order_id", "line_no", "customer_id", "product_id",
                                          "quantity", "unit_price", "order_time", "channel",
                                          "status", "country"])
    frame["order_time"] = pd.to_datetime(frame["order_time"])
    Warehouse(path).write_frame("orders", frame, replace=False)
    settings = Settings.load(warehouse=path, env={})
    built = build_profiles(ctx_of(settings), AS_OF)
    assert built["customers"] == 4
    with pytest.raises(WarehouseError, match="were not replaced"):
        build_profiles(ctx_of(settings), datetime(1990, 1, 1))
    assert len(Warehouse(path).table("profiles")) == 4
