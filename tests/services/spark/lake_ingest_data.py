"""Data and helpers the lake commit and ingest tests share: two small Online Retail files
(with a quarantined line and a line the first already loaded), a customers file with
e-mails and names, a crash injected at the n-th rename of a commit, the lake's accounting."""

from __future__ import annotations

import base64
from pathlib import Path

import duckdb
import pytest

from insightloop.storage import lake_commit
from insightloop.storage.lake import Lake

K1 = "k1:" + base64.b64encode(bytes(range(32))).decode()
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"


def crash_on(monkeypatch: pytest.MonkeyPatch, nth: int) -> list[str]:
    """Make the ``nth`` rename of a commit raise (the process 'dies' there)."""
    real = lake_commit._rename
    done: list[str] = []

    def rename(src: Path, dst: Path) -> None:
        if len(done) + 1 == nth:
            raise OSError("injected crash")
        real(src, dst)
        done.append(f"{src.name} -> {dst.name}")

    monkeypatch.setattr(lake_commit, "_rename", rename)
    return done


def orders_csv(lines: list[str]) -> str:
    """An Online Retail export of ``lines``."""
    return HEADER + "\n" + "\n".join(lines) + "\n"


FIRST = [
    "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom",
    "536365,71053,LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom",
    "536366,22633,WARMER,6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom",
    "536367,84879,BIRD,abc,2010-12-01 08:34:00,1.69,13047.0,United Kingdom",  # quarantined
]
SECOND = [
    "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom",  # in the lake
    "536368,22960,JAM SET,6,2010-12-01 08:34:00,4.25,13047.0,United Kingdom",
    "536368,22913,RED COAT,3,2010-12-01 08:34:00,4.95,13047.0,United Kingdom",
    "536369,21756,BATH,3,2010-12-01 08:35:00,5.95,13047.0,United Kingdom",
    "536370,22728,ALARM,24,,3.75,12583.0,France",                         # quarantined
]


def accounting(root: Path) -> tuple[list[tuple[int, ...]], int, int]:
    """The lake's ``ingest_log`` counts (in, loaded, quarantined, duplicate) per load, its
    orders and quarantine rows; opening the lake first finishes a commit a crash left."""
    con = duckdb.connect()
    Lake(root).attach_duckdb(con)
    log = con.execute("SELECT rows_in, rows_loaded, rows_quarantined, rows_duplicate "
                      "FROM ingest_log ORDER BY started_at").fetchall()
    (orders,) = con.execute("SELECT count(*) FROM orders").fetchone() or (0,)
    (quarantined,) = con.execute("SELECT count(*) FROM quarantine").fetchone() or (0,)
    return log, int(orders), int(quarantined)


def customers_file(folder: Path, n: int = 5) -> Path:
    """``n`` customers with an e-mail and a name, and one (``c99``) with neither."""
    path = folder / "customers.csv"
    path.write_text("customer_id,email,name,country\n" + "".join(
        f"c{i},c{i}@example.com,Customer {i},United Kingdom\n" for i in range(n))
        + "c99,,,France\n", encoding="utf-8")
    return path
