"""Data-quality measures on a small known-answer warehouse (exact counts, by hand)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contexts import ctx_of
from insightloop.errors import WarehouseError
from insightloop.features.quality import QualityReport
from insightloop.services.quality import quality_report
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse

CUSTOMERS = ("customer_id,email,country\n"
             "c1,a@x,UK\n"
             "c2,,FR\n"
             "c3,c@x,UK\n"
             "c1,z@x,UK\n")  # line 5: same key, other values → quarantined
ORDERS = ("order_id,product_id,quantity,unit_price,order_time,customer_id,currency,description\n"
          "O1,P1,2,10,2024-01-01,c1,GBP,a\n"         # lines 2-4: one row and two exact copies
          "O1,P1,2,10,2024-01-01,c1,GBP,a\n"
          "O1,P1,2,10,2024-01-01,c1,GBP,a\n"
          "O2,P2,1,0,2024-01-02,c2,GBP,\n"           # zero price, no description
          "O3,P3,5,4,2024-01-03,,EUR,x\n"            # guest line, second currency
          "R1,P1,-1,10,2024-01-05,c1,GBP,r\n"        # return after a purchase: matched
          "R2,P2,-3,0,2024-01-01,c2,GBP,r\n"         # before the purchase; 3 > 1 bought
          "R3,P9,-2,5,2024-01-06,c3,GBP,r\n"         # never bought
          "R4,P3,-1,4,2024-01-06,,GBP,r\n"           # guest return: cannot be matched
          "O4,P4,20000,1,2024-01-07,c3,GBP,big\n"    # extreme quantity
          "O7,P6,1,500,2024-01-08,c1,GBP,lux\n"      # price outlier
          "O5,P5,1,-2,2024-01-08,c1,GBP,neg\n"       # quarantined: negative price
          "O6,P5,1,1,2024-13-01,c1,GBP,date\n")      # quarantined: bad date


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> QualityReport:
    folder = tmp_path_factory.mktemp("quality")
    wh = Warehouse(folder / "wh.duckdb")
    for table, body in (("customers", CUSTOMERS), ("orders", ORDERS)):
        path = folder / f"{table}.csv"
        path.write_text(body, encoding="utf-8")
        ingest_file(wh, table, path)
    return quality_report(ctx_of(wh))


def test_rows_and_missing_values(report: QualityReport) -> None:
    assert [(t.table, t.rows) for t in report.tables] == [("customers", 3), ("orders", 11)]
    customers = report.table("customers")
    orders = report.table("orders")
    assert customers is not None and orders is not None
    assert {m.column: m.missing for m in customers.missing if m.missing} == {
        "email": 1, "name": 3, "city": 3, "signup_time": 3, "acquisition_channel": 3,
        "gender": 3, "birth_year": 3}
    missing = {m.column: (m.missing, m.pct) for m in orders.missing if m.missing}
    assert missing == {"customer_id": (2, 18.18), "description": (1, 9.09),
                       "channel": (11, 100.0), "country": (11, 100.0)}
    assert report.table("products") is None  # tables without rows are left out


def test_exact_duplicates_flagged_not_deleted(report: QualityReport) -> None:
    orders = report.table("orders")
    assert orders is not None
    assert (orders.duplicate_rows, orders.duplicate_groups) == (2, 1)
    assert orders.rows == 11  # the copies are still there
    customers = report.table("customers")
    assert customers is not None and customers.duplicate_rows == 0


def test_outliers_tukey_fences(report: QualityReport) -> None:
    by_col = {o.column: o for o in report.outliers}
    qty, price = by_col["quantity"], by_col["unit_price"]
    purchases_q = np.array([2, 2, 2, 1, 5, 20000, 1], dtype=float)
    purchases_p = np.array([10, 10, 10, 0, 4, 1, 500], dtype=float)
    for stats, values in ((qty, purchases_q), (price, purchases_p)):
        q1, q3 = np.percentile(values, [25, 75])
        assert (stats.n, stats.q1, stats.q3) == (7, q1, q3)
        assert stats.lower == pytest.approx(q1 - 3 * (q3 - q1))
        assert stats.upper == pytest.approx(q3 + 3 * (q3 - q1))
    assert (qty.q1, qty.q3, qty.upper, qty.low, qty.high) == (1.5, 3.5, 9.5, 0, 1)
    assert (price.q1, price.q3, price.upper, price.low, price.high) == (2.5, 10.0, 32.5, 0, 1)
    assert qty.count == 1 and price.count == 1


def test_cancellations_and_netting(report: QualityReport) -> None:
    c = report.cancellations
    assert c is not None
    assert (c.lines, c.orders, c.quantity, c.value) == (4, 4, 7, 24.0)
    assert c.guest_lines == 1
    assert c.unmatched_lines == 2        # R2 (purchase came later) and R3 (never bought)
    assert c.over_cancelled_pairs == 2   # c2/P2: 3 > 1; c3/P9: 2 > 0


def test_sanity(report: QualityReport) -> None:
    s = report.sanity
    assert s is not None
    assert (s.lines, s.zero_price_lines, s.guest_lines, s.guest_pct) == (11, 2, 2, 18.18)
    assert s.currencies == {"GBP": 10, "EUR": 1} and s.mixed_currencies
    assert (s.extreme_quantity_lines, s.max_abs_quantity) == (1, 20000)


def test_quarantine_summary_and_ingest_log(report: QualityReport) -> None:
    q = report.quarantine
    assert q.total == 3 and q.by_table == {"orders": 2, "customers": 1}
    reasons = {(r["table"], r["column"], r["reason"]): r["rows"] for r in q.top_reasons}
    assert reasons == {
        ("customers", "", "duplicate key (customer_id=cN) first seen on line N with "
                          "different values"): 1,
        ("orders", "order_time", "order_time: not a valid timestamp: '…' (formats tried: ISO N "
         "(N N[+N]), day-first DD/MM/YYYY [HH:MM[:SS]], month-first MM/DD/YYYY [HH:MM[:SS]])"): 1,
        ("orders", "unit_price", "unit_price: value N is below the minimum N"): 1,
    }
    assert [e["table_name"] for e in report.ingest_log] == ["orders", "customers"]
    assert [e["rows_quarantined"] for e in report.ingest_log] == [2, 1]


def test_as_dict_is_plain(report: QualityReport) -> None:
    d = report.as_dict()
    assert set(d) == {"tables", "outliers", "cancellations", "sanity", "quarantine",
                      "ingest_log"}
    assert d["outliers"][0]["count"] == 1
    assert d["tables"][1]["missing"][2] == {"column": "customer_id", "missing": 2, "pct": 18.18}


def test_empty_and_missing_warehouse(tmp_path: Path) -> None:
    empty = quality_report(ctx_of(Warehouse(":memory:")))
    assert empty.tables == [] and empty.cancellations is None and empty.quarantine.total == 0
    with pytest.raises(WarehouseError, match="does not exist"):
        quality_report(ctx_of(tmp_path / "nope.duckdb"))
    assert not (tmp_path / "nope.duckdb").exists()
