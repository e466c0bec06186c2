"""Retention rolls rows up before it drops them: per month, the aggregate plus the rows that
remain equals the rows that were there; the aggregate holds no customer id; a second run
with a later cutoff adds to a month cut in two instead of duplicating it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from contexts import ctx_of
from insightloop.services.privacy.retention import aggregate_totals, retain
from insightloop.storage.warehouse import Warehouse


@pytest.fixture
def events_wh(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with Warehouse(path).transaction() as con:
        Warehouse.ensure_schema(con)
        # 400 events over 400 days from 2011-01-01, 7 customers, 3 types, 5 products
        con.execute(
            "INSERT INTO events (event_id, customer_id, event_type, product_id, event_time, "
            "properties) SELECT 'e' || i, 'c' || (i % 7), ['view', 'cart', 'buy'][i % 3 + 1], "
            "'p' || (i % 5), TIMESTAMP '2011-01-01 12:00' + INTERVAL (i) DAY, "
            "'{\"email\": \"c' || (i % 7) || '@example.com\"}' FROM range(400) t(i)")
    return path


def test_totals_survive_retention(events_wh: Path) -> None:
    ctx = ctx_of(events_wh)
    with duckdb.connect(str(events_wh), read_only=True) as con:
        before = aggregate_totals(con, "events")
        by_type = dict(con.execute("SELECT event_type, count(*) FROM events GROUP BY 1"
                                   ).fetchall())
    dry = retain(ctx, 6, as_of=date(2011, 12, 9))
    assert dry["rows"] == {"events": 159} and dry["aggregated"] == {}
    done = retain(ctx, 6, as_of=date(2011, 12, 9), apply=True)
    assert done["rows"] == {"events": 159} and done["aggregated"]["events_monthly"] > 0
    with duckdb.connect(str(events_wh), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (241,)
        assert aggregate_totals(con, "events") == before
        cols = [r[0] for r in con.execute("DESCRIBE events_monthly").fetchall()]
        assert cols == ["month", "event_type", "product_id", "row_count", "customers"]
        dump = str(con.execute("SELECT * FROM events_monthly").fetchall())
        assert "@example.com" not in dump and "'c1'" not in dump
        # January: 31 events, 11 views; at most 3 customers per (type, product) group
        assert con.execute("SELECT sum(row_count), max(customers) FROM events_monthly "
                           "WHERE month = DATE '2011-01-01' AND event_type = 'view'"
                           ).fetchone() == (11, 3)
    # a later cutoff cuts June in two: the second run adds to the same group rows
    retain(ctx, 6, as_of=date(2011, 12, 20), apply=True)
    with duckdb.connect(str(events_wh), read_only=True) as con:
        assert aggregate_totals(con, "events") == before
        assert con.execute("SELECT count(*) FROM (SELECT month, event_type, product_id "
                           "FROM events_monthly GROUP BY ALL HAVING count(*) > 1)"
                           ).fetchone() == (0,)
        kept = dict(con.execute(
            "SELECT event_type, sum(n) FROM (SELECT event_type, count(*) AS n FROM events "
            "GROUP BY 1 UNION ALL SELECT event_type, sum(row_count) FROM events_monthly "
            "GROUP BY 1) GROUP BY 1").fetchall())
    assert kept == by_type
