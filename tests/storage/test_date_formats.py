"""Dates are read the way the data decides, or the file is refused: never loaded wrong.

Known-answer files for each case, and a day-first copy of the real Online Retail
January 2011 rows (built here from ``../shared/data``; skipped when absent).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from ingest_helpers import ONLINE_RETAIL, ORDERS_HEADER, digest, needs_online_retail

from insightloop.errors import ConfigError, InputFileError
from insightloop.storage.ingest import ingest_file
from insightloop.storage.warehouse import Warehouse


def _times(wh: Warehouse) -> dict[str, str]:
    rows = wh.query("SELECT order_id, order_time::VARCHAR AS t FROM orders").values.tolist()
    return {str(o): str(t) for o, t in rows}


def _orders(*dates: str) -> str:
    return ORDERS_HEADER + "".join(f"A{i},P1,1,2.5,{d},c1\n" for i, d in enumerate(dates))


def test_day_first_decided_by_a_day_above_12(tmp_path: Path,
                                             write: Callable[..., Path]) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    res = ingest_file(wh, "orders", write("d.csv", _orders("02/01/2024 10:00",
                                                           "13/01/2024 11:05", "05/03/2024")))
    assert (res.rows_loaded, res.rows_quarantined) == (3, 0)
    assert _times(wh) == {"A0": "2024-01-02 10:00:00", "A1": "2024-01-13 11:05:00",
                          "A2": "2024-03-05 00:00:00"}
    assert any("day-first" in n and "every value" in n for n in res.notes), res.notes


def test_month_first_decided_and_two_digit_years(tmp_path: Path,
                                                 write: Callable[..., Path]) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    res = ingest_file(wh, "orders", write("m.csv", _orders("02/01/24 10:00", "12/31/24 23:59:59",
                                                           "1/5/2024 8:26 PM")))
    assert res.rows_loaded == 3
    assert _times(wh) == {"A0": "2024-02-01 10:00:00", "A1": "2024-12-31 23:59:59",
                          "A2": "2024-01-05 20:26:00"}


def test_ambiguous_file_is_refused_naming_column_sample_readings_and_flag(
        base_wh: Warehouse, write: Callable[..., Path]) -> None:
    before = digest(base_wh)
    path = write("amb.csv", _orders("02/01/2024 10:00", "03/01/2024 10:00", "2024-01-09"))
    with pytest.raises(InputFileError) as err:
        ingest_file(base_wh, "orders", path)
    msg = str(err.value)
    assert str(path) in msg and "'order_time'" in msg
    assert "'02/01/2024 10:00'" in msg or "'03/01/2024 10:00'" in msg
    assert "day-first" in msg and "month-first" in msg
    assert "--date-format day-first" in msg and "--date-format month-first" in msg
    assert ("2024-01-02 10:00:00" in msg) or ("2024-01-03 10:00:00" in msg)
    assert digest(base_wh) == before  # nothing loaded, nothing quarantined


def test_the_preset_format_is_a_hint_not_an_override(
        base_wh: Warehouse, write: Callable[..., Path]) -> None:
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    ambiguous = write("r.csv", header + "536365,85123A,MUG,6,01/12/2010 08:26,2.55,17850,UK\n"
                      "536366,71053,LAMP,6,02/12/2010 08:28,3.39,17850,UK\n")
    before = digest(base_wh)
    with pytest.raises(InputFileError, match="--date-format day-first"):
        ingest_file(base_wh, "orders", ambiguous, preset="online-retail")
    assert digest(base_wh) == before
    # one day above 12 decides it: read day-first although the preset says month-first
    decided = write("r2.csv", header + "536365,85123A,MUG,6,01/12/2010 08:26,2.55,17850,UK\n"
                    "536367,71053,LAMP,6,13/12/2010 08:28,3.39,17850,UK\n")
    res = ingest_file(base_wh, "orders", decided, preset="online-retail")
    assert res.rows_loaded == 2
    got = _times(base_wh)
    assert (got["536365"], got["536367"]) == ("2010-12-01 08:26:00", "2010-12-13 08:28:00")


def test_explicit_date_format_decides_an_ambiguous_file(tmp_path: Path,
                                                       write: Callable[..., Path]) -> None:
    path = write("amb.csv", _orders("02/01/2024 10:00", "03/01/2024"))
    for given, expected in ((("day-first",), "2024-01-02 10:00:00"),
                            (("month-first",), "2024-02-01 10:00:00"),
                            (("%m/%d/%Y %H:%M", "%m/%d/%Y"), "2024-02-01 10:00:00")):
        wh = Warehouse(tmp_path / f"{given[0].strip('%/ ')}.duckdb")
        res = ingest_file(wh, "orders", path, timestamp_formats=given)
        assert res.rows_loaded == 2 and _times(wh)["A0"] == expected, given
    with pytest.raises(ConfigError, match="neither one of"):
        ingest_file(Warehouse(tmp_path / "x.duckdb"), "orders", path,
                    timestamp_formats=("dd/mm/yyyy",))


def test_readings_that_agree_on_every_value_load(tmp_path: Path,
                                                 write: Callable[..., Path]) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    res = ingest_file(wh, "orders", write("s.csv", _orders("01/01/2024", "07/07/2024 10:00")))
    assert res.rows_loaded == 2
    assert _times(wh) == {"A0": "2024-01-01 00:00:00", "A1": "2024-07-07 10:00:00"}


def test_values_no_format_fits_are_quarantined_naming_the_formats_tried(
        tmp_path: Path, write: Callable[..., Path]) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    res = ingest_file(wh, "orders", write("j.csv", _orders("25/01/2024", "2024-01-05 10:00",
                                                           "soon", "31/02/2024")))
    assert (res.rows_loaded, res.rows_quarantined) == (2, 2)
    assert _times(wh) == {"A0": "2024-01-25 00:00:00", "A1": "2024-01-05 10:00:00"}
    reasons = wh.query("SELECT reason FROM quarantine ORDER BY line")["reason"].tolist()
    assert reasons[0].startswith("order_time: not a valid timestamp: 'soon' (formats tried: "
                                 "ISO 8601")
    assert "day-first DD/MM/YYYY" in reasons[0] and "month-first MM/DD/YYYY" in reasons[0]
    assert "'31/02/2024'" in reasons[1]
    # nothing parses at all: the note names a sample value and the formats tried
    res = ingest_file(wh, "orders", write("k.csv", _orders("soon", "later")))
    assert res.rows_quarantined == 2
    assert any("'soon'" in n or "'later'" in n for n in res.notes), res.notes
    assert any("not dates in any format tried" in n for n in res.notes)


def _day_first_january(tmp_path: Path, limit: int | None = None) -> tuple[Path, int]:
    """The January 2011 lines of Online Retail with InvoiceDate rewritten DD/MM/YYYY HH:MM;
    returns the file and the largest day of the month in it."""
    out = tmp_path / ("jan_day_first.csv" if limit is None else f"jan_{limit}.csv")
    con = duckdb.connect()
    rows = f"LIMIT {int(limit)}" if limit else ""
    con.execute(f"""
        COPY (SELECT * REPLACE (strftime(InvoiceDate, '%d/%m/%Y %H:%M') AS InvoiceDate)
              FROM (SELECT * FROM read_csv('{ONLINE_RETAIL}', all_varchar=false)
                    WHERE InvoiceDate >= TIMESTAMP '2011-01-01'
                      AND InvoiceDate < TIMESTAMP '2011-02-01' {rows}))
        TO '{out}' (HEADER, DELIMITER ',')
    """)
    max_day = con.execute(f"SELECT max(day(strptime(InvoiceDate, '%d/%m/%Y %H:%M'))) FROM "
                          f"read_csv('{out}', all_varchar=true)").fetchone()
    con.close()
    assert max_day is not None
    return out, int(max_day[0])


@needs_online_retail
def test_day_first_online_retail_january_loads_right(tmp_path: Path) -> None:
    path, max_day = _day_first_january(tmp_path)
    assert max_day > 12  # the file decides: month-first cannot read day 13 and later
    wh = Warehouse(tmp_path / "wh.duckdb")
    res = ingest_file(wh, "orders", path, preset="online-retail")
    assert res.rows_quarantined < res.rows_in * 0.01
    months = wh.query("SELECT month(order_time) AS m, year(order_time) AS y, count(*) AS n "
                      "FROM orders GROUP BY ALL")
    assert months[["m", "y"]].values.tolist() == [[1, 2011]]
    # every loaded line has the timestamp of the original ISO file
    src = duckdb.connect().execute(
        f"SELECT count(*) FROM read_csv('{ONLINE_RETAIL}') WHERE InvoiceDate >= "
        "TIMESTAMP '2011-01-01' AND InvoiceDate < TIMESTAMP '2011-02-01'").fetchone()
    assert src is not None and res.rows_in == int(src[0])
    assert int(months["n"].sum()) == res.rows_loaded


@needs_online_retail
def test_ambiguous_online_retail_slice_is_refused_not_loaded_wrong(tmp_path: Path) -> None:
    path, max_day = _day_first_january(tmp_path, limit=3000)
    assert max_day <= 12  # every value reads both ways
    wh = Warehouse(tmp_path / "wh.duckdb")
    before = digest(wh)
    with pytest.raises(InputFileError) as err:
        ingest_file(wh, "orders", path, preset="online-retail")
    assert "--date-format day-first" in str(err.value) and "'InvoiceDate'" in str(err.value)
    assert digest(wh) == before
    res = ingest_file(wh, "orders", path, preset="online-retail",
                      timestamp_formats=("day-first",))
    assert res.rows_loaded + res.rows_quarantined == 3000
    months = wh.query("SELECT DISTINCT month(order_time) AS m FROM orders")["m"].tolist()
    assert months == [1]
