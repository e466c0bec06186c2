"""Helpers shared by the storage tests: data paths, small files, warehouse digests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pytest

from insightloop.storage.schema import TABLES
from insightloop.storage.sql import ident
from insightloop.storage.warehouse import Warehouse
from shared_data import SAMPLE as SAMPLE  # re-exported for the storage tests
from shared_data import shared_path

ONLINE_RETAIL = shared_path("online_retail/online_retail.csv")

needs_online_retail = pytest.mark.skipif(
    not ONLINE_RETAIL.exists(),
    reason=f"UCI Online Retail not available at {ONLINE_RETAIL} (shared/data is optional)",
)

ORDERS_HEADER = "order_id,product_id,quantity,unit_price,order_time,customer_id\n"
BASE_ORDERS = (
    ORDERS_HEADER
    + "B1,P1,2,3.5,2024-01-02 10:00:00,c1\n"
    + "B1,P2,1,1.25,2024-01-02 10:00:00,c2\n"
    + "B2,P1,3,3.5,2024-01-05 09:30:00,\n"
)


def digest(wh: Warehouse) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content hash of every warehouse table.

    Two warehouses with equal digests hold the same rows in every canonical table,
    in ``quarantine`` and in ``ingest_log``.
    """
    out: dict[str, tuple[int, str]] = {}
    with wh.connect() as con:
        for name in [*TABLES, "quarantine", "ingest_log"]:
            row = con.execute(
                f"SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') "
                f"FROM (SELECT md5(CAST(t AS VARCHAR)) AS h FROM {name} t)"
            ).fetchone()
            assert row is not None
            out[name] = (int(row[0]), str(row[1]))
    return out



def snapshot(path: Path) -> dict[str, Counter[str]]:
    """Every table of the warehouse file (canonical, derived, logs) → multiset of row hashes.

    Compared before and after an ingest: equal multisets mean the table did not change;
    a new key means a table was created.
    """
    out: dict[str, Counter[str]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()]
        for name in names:
            rows = con.execute(f"SELECT md5(CAST(t AS VARCHAR)) FROM {ident(name)} t").fetchall()
            out[name] = Counter(str(r[0]) for r in rows)
    return out
